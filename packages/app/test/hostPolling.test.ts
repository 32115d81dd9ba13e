import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { nodeRegistryWithModelsAbi } from "@session-jobs/sdk";
import { startWebDemo, type WebDemo } from "@session-jobs/cli/web-demo";
import type { Browser, Page } from "playwright-core";
import { createTestClient, createWalletClient, http, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthCheckIntervalMs } from "../src/hosts/healthSchedule.ts";
import { maxHostRequestsAtOnce } from "../src/hosts/hostRequestLimit.ts";
import { launchChromium, viewports } from "./browser.ts";

// Anyone can register a host, at any URL, with no stake. Here 100 are registered, their URLs on
// ten "victim" servers (ten origins, so the browser's six connections an origin do not hide how
// many requests the page sends at once); every other one answers its health check, the rest
// refuse it. The page must ask only the hosts it shows, a few at a time, a refusing one less and
// less often, and none while the tab is hidden; when its cards go away, the requests they sent
// keep their places until the victims are done with them, and those still waiting are never sent.
// The page's clock is Playwright's: a minute of polling is four 15 s steps, each waited out until
// the victims have heard everything.
const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
const registeredHosts = 100;
/** The hosts the list shows at first, and how many more "Show more" adds (`hostsPerPage`). */
const hostsPerPage = 20;
const victimOrigins = 10;
let demo: WebDemo;
let browser: Browser;
let page: Page;
const victims: Server[] = [];
/** Every request a victim heard, by path (`/h7/health`). */
const heard: string[] = [];
let inFlight = 0;
let mostInFlight = 0;
/** Requests whose connection the page closed before their answer (aborted). */
let closedUnanswered = 0;
/** How long a victim takes to answer. */
let answerDelayMs = 100;

/** Host `index`'s registered URL: on victim `index % 10`, under its own path. */
const hostUrl = (index: number) => `http://127.0.0.1:${(victims[index % victimOrigins]!.address() as AddressInfo).port}/h${index}`;
const hostIndex = (path: string) => Number(/^\/h(\d+)\//.exec(path)?.[1]);
/** Host `index` answers its health check; the others refuse it. */
const answers = (index: number) => index % 2 === 0;
const hostsAsked = () => new Set(heard.map(hostIndex)).size;

async function startVictim(): Promise<Server> {
  const server = createServer((request, response) => {
    heard.push(request.url ?? "");
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    response.on("close", () => {
      if (!response.writableFinished) closedUnanswered++;
    });
    // A slow answer, so that requests sent together overlap at the victim. A request counts until
    // the victim is done with it, as a host's work goes on after the page has closed the
    // connection (few servers notice before they write).
    setTimeout(() => {
      inFlight--;
      if (answers(hostIndex(request.url ?? "")) && request.url?.endsWith("/health")) response.writeHead(200, { "access-control-allow-origin": "*" }).end("{}");
      else response.writeHead(503).end();
    }, answerDelayMs);
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  return server;
}

/** Registers host `index` from a fresh account that anvil funds: no stake, only gas. */
async function registerHost(index: number): Promise<void> {
  const account = privateKeyToAccount(generatePrivateKey());
  const transport = http(demo.network.anvil.rpcUrl);
  await createTestClient({ mode: "anvil", transport }).setBalance({ address: account.address, value: parseEther("1") });
  const hash = await createWalletClient({ account, transport }).writeContract({
    address: demo.network.deployment.nodeRegistry,
    abi: nodeRegistryWithModelsAbi,
    functionName: "registerNode",
    // Dearer than the demo host, which stays first.
    args: ["", hostUrl(index), [demo.network.modelId], 2000n],
    chain: null,
  });
  expect((await demo.network.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
}

/** Waits until the victims have heard nothing more for a second and answered everything. */
async function quietVictims(): Promise<void> {
  let last = -1;
  await expect
    .poll(
      () => {
        const quietNow = heard.length === last && inFlight === 0;
        last = heard.length;
        return quietNow;
      },
      { interval: 1_000 },
    )
    .toBe(true);
}

/** The health checks the victims hear while the page's clock moves on a minute (and the real seconds the steps take), by host. */
async function healthChecksInAMinute(): Promise<Map<number, number>> {
  await quietVictims();
  const before = heard.length;
  for (let step = 0; step < 4; step++) {
    await page.clock.fastForward(healthCheckIntervalMs);
    await quietVictims();
  }
  const checks = new Map<number, number>();
  for (const path of heard.slice(before).filter((path) => path.endsWith("/health"))) checks.set(hostIndex(path), (checks.get(hostIndex(path)) ?? 0) + 1);
  return checks;
}

/** The hosts whose cards the list shows now, by index (the demo host has none). */
async function shownHosts(): Promise<Set<number>> {
  const urls = await page
    .getByTestId("host-card")
    .locator(".host-url")
    .evaluateAll((elements) => elements.map((element) => element.getAttribute("title") ?? ""));
  return new Set(urls.map((url) => hostIndex(new URL(url).pathname + "/")).filter((index) => !Number.isNaN(index)));
}

const total = (checks: Map<number, number>) => [...checks.values()].reduce((sum, count) => sum + count, 0);

beforeAll(async () => {
  const { createLogger } = await import("@session-jobs/cli/common");
  // Built here: the page under test is the built app.
  demo = await startWebDemo({ env: process.env, logger: createLogger(quiet, quiet), signal: new AbortController().signal, debug: false }, { build: true });
  for (let index = 0; index < victimOrigins; index++) victims.push(await startVictim());
  for (let index = 0; index < registeredHosts; index++) await registerHost(index);
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: viewports.laptop })).newPage();
  await page.clock.install();
  page.on("pageerror", (error) => console.error(`page error: ${error.message}\n${error.stack}`));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  for (const victim of victims) await new Promise((closed) => victim.close(closed));
  await demo?.stop();
});

describe("the host list when anyone has registered 100 hosts", () => {
  it("asks only the hosts it shows, at most 4 at a time, a refusing host less and less often; more on 'Show more'", async () => {
    await page.goto(demo.url);
    await page.getByTestId("host-card").first().waitFor({ timeout: 60_000 });
    const minute = await healthChecksInAMinute();
    console.info(`health checks the victims heard in a minute: ${total(minute)}; hosts asked: ${hostsAsked()}; most at once: ${mostInFlight}`);

    // The demo host first, then 19 of the 100.
    expect(await page.getByTestId("host-card").count()).toBe(hostsPerPage);
    expect(hostsAsked()).toBe(hostsPerPage - 1);
    expect(mostInFlight).toBeLessThanOrEqual(maxHostRequestsAtOnce);
    // A minute here is a little more (the real seconds the steps take): a host that answers is
    // asked 4 or 5 times, one that refuses at most twice (at 30 s, then at 1.5 min).
    for (const [index, count] of minute) expect(count).toBeLessThanOrEqual(answers(index) ? 5 : 2);
    expect([...minute].filter(([index]) => answers(index)).every(([, count]) => count >= 4)).toBe(true);
    expect(total(minute)).toBeLessThanOrEqual((hostsPerPage - 1) * 5);

    await page.getByRole("button", { name: /Show more hosts \(81 not shown\)/ }).click();
    await quietVictims();
    expect(await page.getByTestId("host-card").count()).toBe(2 * hostsPerPage);
    expect(hostsAsked()).toBe(2 * hostsPerPage - 1);
    expect(mostInFlight).toBeLessThanOrEqual(maxHostRequestsAtOnce);
  }, 300_000);

  it("asks no host while the tab is hidden, and goes on once it is shown again", async () => {
    await page.evaluate(() => {
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
      document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
    });
    expect(total(await healthChecksInAMinute())).toBe(0);
    await page.evaluate(() => {
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
      document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
    });
    expect(total(await healthChecksInAMinute())).toBeGreaterThan(0);
  }, 300_000);

  it("keeps a sent request's place until its host is done with it when the cards go away, and never sends their requests still waiting", async () => {
    // The demo host (first) is chosen by name, not as the first of whichever list: the chosen
    // host's terms are read in a lane of their own, beside the list's 4, and on the ETH list the
    // first host is a victim.
    await page.getByTestId("host-card").nth(1).click();
    await page.getByTestId("host-card").first().click();
    // Slow victims, so that requests the old cards sent are still open there when the new cards ask.
    await quietVictims();
    answerDelayMs = 3_000;
    mostInFlight = 0;
    closedUnanswered = 0;
    // Every answering host shown is asked again at once: 4 requests sent, the rest waiting.
    await page.clock.fastForward(healthCheckIntervalMs);
    await expect.poll(() => inFlight, { timeout: 60_000 }).toBe(maxHostRequestsAtOnce);
    const sentByOldCards = heard.length;
    // Paying in ETH lists the hosts afresh: every card unmounts, then the first 20 mount again.
    await page.getByRole("radio", { name: "ETH" }).click();
    await expect.poll(() => heard.length > sentByOldCards, { timeout: 60_000 }).toBe(true);
    answerDelayMs = 100;
    await quietVictims();
    const shown = await shownHosts();
    const askedForGoneCards = heard.slice(sentByOldCards).filter((path) => !shown.has(hostIndex(path)));
    console.info(
      `cards gone with ${maxHostRequestsAtOnce} requests at the victims: most at once ${mostInFlight}; closed unanswered by the page ${closedUnanswered}; asked for cards gone ${askedForGoneCards.length}`,
    );

    expect(await page.getByTestId("host-card").count()).toBe(hostsPerPage);
    expect(mostInFlight).toBeLessThanOrEqual(maxHostRequestsAtOnce);
    // Only requests that had got their places as the list went (at most 4) can be for hosts no
    // longer shown; those still waiting were dropped with their cards.
    expect(askedForGoneCards.length).toBeLessThanOrEqual(maxHostRequestsAtOnce);
  }, 300_000);
});
