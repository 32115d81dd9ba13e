import { Writable } from "node:stream";
import { getSession, nodeRegistryWithModelsAbi } from "@session-jobs/sdk";
import { startWebDemo, type WebDemo } from "@session-jobs/cli/web-demo";
import type { Browser, Page, Route } from "playwright-core";
import { createWalletClient, http } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, screenshot, viewports } from "./browser.ts";
import { forwardTo, type Forwarder } from "./forwarder.ts";

// In Chromium, on a local anvil with the embedded model: the ways out the page gives a user whose
// host moved (re-registered its URL on chain), vanished, pointed its registration at something
// that is not a web address, answers every close "closing" forever, or never answers a close.
// The host's addresses are TCP forwarders to the one node (a host that moved is the same node
// at another address; a closed forwarder refuses connections, as a host gone from there does).
// The page's clock is Playwright's: a close's one-minute bound is passed by moving it forward.
const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
let demo: WebDemo;
let browser: Browser;
let page: Page;
/** Every request the page sent, as `METHOD url`. */
const requests: string[] = [];
const dialogs: string[] = [];
const forwarders: Forwarder[] = [];
/** The address the host was last moved to. */
let current: Forwarder;

beforeAll(async () => {
  const { createLogger } = await import("@session-jobs/cli/common");
  demo = await startWebDemo({ env: process.env, logger: createLogger(quiet, quiet), signal: new AbortController().signal, debug: false }, { build: false });
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: viewports.laptop })).newPage();
  await page.clock.install();
  page.on("pageerror", (error) => console.error(`page error: ${error.message}\n${error.stack}`));
  page.on("request", (request) => requests.push(`${request.method()} ${request.url()}`));
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  for (const forwarder of forwarders) await forwarder.close();
  await demo?.stop();
});

/**
 * The host re-registers its URL on chain (`updateApiUrl`) from its own account, as an operator does
 * while the node runs (anvil signs for that account, so the test holds no key). The
 * node sends its proofs from that account too, so both can pick the same nonce; a refused nonce is
 * read afresh and sent again (a few times), as the node's own sender does.
 */
async function registerUrl(apiUrl: string): Promise<void> {
  const wallet = createWalletClient({ account: demo.host.node.address, transport: http(demo.network.anvil.rpcUrl) });
  for (let attempt = 1; ; attempt++) {
    try {
      const hash = await wallet.writeContract({
        address: demo.network.deployment.nodeRegistry,
        abi: nodeRegistryWithModelsAbi,
        functionName: "updateApiUrl",
        args: [apiUrl],
        chain: null,
      });
      expect((await demo.network.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
      return;
    } catch (error) {
      if (attempt >= 5 || !/nonce|underpriced/i.test(String(error))) throw error;
    }
  }
}

/** The host at a new address, registered there. */
async function moveHost(): Promise<Forwarder> {
  const forwarder = await forwardTo(demo.host.node.url);
  forwarders.push(forwarder);
  await registerUrl(forwarder.url);
  current = forwarder;
  return forwarder;
}

const assistantMessages = () => page.getByTestId("message-assistant");
const chatRequestsTo = (url: string) => requests.filter((request) => request === `POST ${url}/v1/chat/completions`).length;
const tokens = async (testId: string) => Number(((await page.getByTestId(testId).textContent()) ?? "").replace(/,/g, ""));

/** Sends a prompt and waits until its answer ended (or failed); returns the answer's element. */
async function ask(prompt: string) {
  const before = await assistantMessages().count();
  await page.getByLabel("Message").fill(prompt);
  await page.getByRole("button", { name: "Send" }).click();
  await expect.poll(() => assistantMessages().count()).toBe(before + 1);
  await page.getByRole("button", { name: "Stop" }).waitFor({ state: "detached", timeout: 120_000 });
  return assistantMessages().last();
}

/** A new USDC session with the host at its registered URL, read afresh by a reload. */
async function openSession(): Promise<void> {
  const another = page.getByRole("button", { name: "Start another session" });
  if ((await another.count()) > 0) {
    await another.click();
    // The page forgets the current session in IndexedDB before it leaves it: a reload sooner would resume it.
    await page.getByTestId("meter").waitFor({ state: "detached" });
  }
  await page.reload();
  // A reload on a loaded machine: the wallet, the models and the host list are read again first.
  await page.getByRole("button", { name: /Open session with 5 USDC/ }).click({ timeout: 60_000 });
  await page.getByTestId("meter").waitFor({ timeout: 60_000 });
}

/** The session shown, on chain. */
async function sessionOnChain() {
  const jobId = BigInt((await page.getByTestId("meter").locator("h3").textContent())!.match(/#(\d+)/)![1]!);
  return getSession(demo.network.publicClient, { marketplace: demo.network.deployment.jobMarketplace, jobId });
}

/** The settlement is shown, read back from the chain, and every check of it passes. */
async function expectCheckedSettlement(): Promise<void> {
  await page.getByTestId("settlement").waitFor({ timeout: 120_000 });
  await expect.poll(() => page.getByTestId("settlement-checks").locator("li.bad").count()).toBe(0);
  await expect.poll(() => page.getByTestId("settlement-checks").locator("li.ok").count()).toBeGreaterThanOrEqual(5);
}

/** Answers the session's close (`POST /v1/session/close`) with `answer`, and lets everything else through; returns the closes seen. */
async function interceptCloses(answer: (route: Route) => Promise<void>): Promise<{ seen: () => number; stop: () => Promise<void> }> {
  let seen = 0;
  const pattern = "**/v1/session/close";
  await page.route(pattern, async (route) => {
    if (route.request().method() !== "POST") return route.continue();
    seen++;
    await answer(route);
  });
  return { seen: () => seen, stop: () => page.unrouteAll({ behavior: "ignoreErrors" }) };
}

const closeButton = () => page.getByRole("button", { name: "Close session and settle" });
const forceButton = () => page.getByRole("button", { name: "Settle without the host…" });

describe("the web app when the host moves, vanishes or will not settle", () => {
  it("chat follows a host that moved and says so; an answer served before the move is recovered, not asked again", async () => {
    const first = await moveHost();
    await page.goto(demo.url);
    await page.getByRole("button", { name: "Connect wallet" }).click();
    await page.getByRole("menuitem", { name: /Local dev wallet/ }).click();
    await page.getByTestId("account").waitFor();
    await openSession();
    expect(await (await ask("In the beginning")).locator(".error").count()).toBe(0);

    // The host moves: its old address refuses connections.
    const second = await moveHost();
    await first.close();
    const answer = await ask("And what came next?");
    expect(await answer.locator(".error").count()).toBe(0);
    expect(((await answer.textContent()) ?? "").length).toBeGreaterThan(0);
    expect(await page.getByTestId("host-moved").textContent()).toBe(
      `The host moved: this session now reaches it at ${second.url}, the address it registered on chain.`,
    );
    expect(chatRequestsTo(second.url)).toBe(1);
    await screenshot(page, "h1-chat-followed-moved-host");
    // Saved: after a reload the session goes on at the new address, with nothing to follow.
    await page.reload();
    await page.getByTestId("meter").waitFor();
    expect(await (await ask("Go on.")).locator(".error").count()).toBe(0);
    expect(chatRequestsTo(second.url)).toBe(2);
    expect(await page.getByTestId("host-moved").count()).toBe(0);

    // It moves again while a request is on its way: the host serves it, the answer never comes back.
    const third = await moveHost();
    second.swallowAnswers();
    const signedBefore = await tokens("signed");
    const recovered = await ask("Tell me about the kings.");
    expect(await recovered.locator(".error").count()).toBe(0);
    expect(((await recovered.textContent()) ?? "").length).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId("host-moved").textContent()).toContain(third.url);
    // Recovered from the host (a sync), signed for, and not sent again.
    expect(chatRequestsTo(third.url)).toBe(0);
    expect(await tokens("signed")).toBeGreaterThan(signedBefore);
    await expect.poll(async () => [await tokens("served"), await tokens("signed")]).toSatisfy(([served, signed]) => served === signed);
  }, 300_000);

  it("close follows a host that moved, and the host settles for every token signed", async () => {
    const signed = await tokens("signed");
    const previous = current;
    const fourth = await moveHost();
    await previous.close();
    await closeButton().click();
    await expectCheckedSettlement();
    expect(await page.getByTestId("host-moved").textContent()).toContain(fourth.url);
    expect(await page.getByTestId("settlement-proven").textContent()).toBe(signed.toLocaleString("en-US"));
    expect(await page.getByTestId("settled-by-you").count()).toBe(0);
    await screenshot(page, "h2-close-followed-moved-host");
  }, 180_000);

  it("does not follow a registration that is not an http(s) URL (javascript:, data:, garbage), nor one that names the address that is down; close settles without the host", async () => {
    await openSession();
    await ask("In the beginning");
    const address = current;
    await address.close();
    const notHttp = `The host does not answer at ${address.url}, and the address it registered on chain is not an http(s) URL, so this page does not follow it; close the session to settle without the host.`;
    for (const hostile of ["javascript:alert(document.domain)", "data:text/html,<script>alert(1)</script>", "not a url\n\u0000../../", " "]) {
      await registerUrl(hostile);
      const answer = await ask("Go on.");
      expect(await answer.getByRole("alert").textContent()).toBe(notHttp);
    }
    await registerUrl(address.url);
    const down = await ask("Go on.");
    expect(await down.getByRole("alert").textContent()).toBe(
      `The host does not answer at ${address.url}, the address it registered on chain: it is down. Try again later, or close the session to settle without the host.`,
    );
    expect(dialogs).toEqual([]);
    expect(new URL(page.url()).origin).toBe(new URL(demo.url).origin);
    expect(await page.getByTestId("host-moved").count()).toBe(0);
    await screenshot(page, "h3-hostile-registration-not-followed");

    const proven = (await sessionOnChain()).provenTokens;
    await closeButton().click();
    // A host that does not answer may be restarting: the close asks it again for the SDK's minute, and the page says so.
    await expect
      .poll(() => page.getByTestId("close-waiting").textContent())
      .toMatch(/^The host does not answer \(it may be restarting\): asking it again for up to \d+ s; then your wallet settles on chain/);
    expect(await page.getByTestId("settled-by-you").count()).toBe(0);
    await screenshot(page, "h3b-close-asks-host-again");
    await page.clock.fastForward("01:01");
    await expectCheckedSettlement();
    expect(await page.getByTestId("settled-by-you").textContent()).toMatch(/^The host did not settle this session: your wallet settled it on chain/);
    expect(await page.getByTestId("settlement-proven").textContent()).toBe(Number(proven).toLocaleString("en-US"));
    await screenshot(page, "h4-settled-without-host");
  }, 300_000);

  it("a host that answers every close 'closing': the page offers to settle without it, with the hint, the cost and a confirmation", async () => {
    await registerUrl(demo.host.node.url);
    await openSession();
    await ask("In the beginning");
    const origin = new URL(demo.url).origin;
    const closes = await interceptCloses((route) =>
      route.fulfill({
        status: 409,
        headers: {
          "content-type": "application/json",
          "retry-after": "1",
          "access-control-allow-origin": origin,
          "access-control-expose-headers": "retry-after",
        },
        body: JSON.stringify({
          error: { message: "A close of the session is under way.", type: "session_error", code: "session_not_active", reason: "closing" },
        }),
      }),
    );
    try {
      await closeButton().click();
      await expect.poll(closes.seen).toBeGreaterThan(0);
      // While the normal close waits, there is nothing to force.
      expect(await forceButton().count()).toBe(0);
      await page.clock.fastForward("01:01");
      await expect.poll(() => page.getByTestId("close-error").textContent()).toMatch(/^This session is already being closed/);
      expect(await page.getByTestId("close-hint").textContent()).toMatch(/^Hint: the close under way settles by itself/);
      await forceButton().click();
      const confirmation = await page.getByTestId("force-close").textContent();
      expect(confirmation).toContain("the host is paid for the tokens it has proven on chain");
      expect(confirmation).toContain("the rest of your deposit is refunded to you");
      expect(confirmation).toContain("receipts you signed that the host has not proven yet are lost to the host, not to you");
      await screenshot(page, "h5-force-close-confirmation");
      await page.getByRole("button", { name: "Cancel" }).click();
      expect(await page.getByTestId("force-close").count()).toBe(0);
      expect(await sessionOnChain()).toMatchObject({ status: "active" });

      await forceButton().click();
      const seenBefore = closes.seen();
      const proven = (await sessionOnChain()).provenTokens;
      await page.getByRole("button", { name: "Settle on chain now" }).click();
      await expect.poll(closes.seen).toBeGreaterThan(seenBefore);
      await page.clock.fastForward("00:31");
      await expectCheckedSettlement();
      expect(await page.getByTestId("settled-by-you").count()).toBe(1);
      expect(await page.getByTestId("settlement-proven").textContent()).toBe(Number(proven).toLocaleString("en-US"));
      expect((await sessionOnChain()).status).toBe("completed");
      await screenshot(page, "h6-forced-close-settled");
    } finally {
      await closes.stop();
    }
  }, 300_000);

  it("a close the host never answers settles without it once the SDK's bound passes; nothing to force", async () => {
    await openSession();
    await ask("In the beginning");
    const closes = await interceptCloses(() => new Promise<void>(() => undefined));
    try {
      await closeButton().click();
      await expect.poll(closes.seen).toBe(1);
      expect(await page.getByTestId("close-waiting").textContent()).toMatch(/^Waiting for the host to settle/);
      expect(await forceButton().count()).toBe(0);
      await page.clock.fastForward("01:01");
      await expectCheckedSettlement();
      expect(await page.getByTestId("settled-by-you").count()).toBe(1);
      expect(await forceButton().count()).toBe(0);
    } finally {
      await closes.stop();
    }
  }, 180_000);
});
