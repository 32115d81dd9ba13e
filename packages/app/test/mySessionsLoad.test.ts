import { Writable } from "node:stream";
import { getSession } from "@session-jobs/sdk";
import { startWebDemo, type WebDemo } from "@session-jobs/cli/web-demo";
import type { Browser, Page } from "playwright-core";
import { createTestClient, formatEther, getAddress, http, type Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reorgWindow } from "../src/chain/logFollower.ts";
import { launchChromium, screenshot, viewports } from "./browser.ts";
import { createSessionSteps, recordRpcCalls } from "./chainLoad.ts";

// My sessions' cost to the chain's RPC per block, in Chromium on a local anvil: it must not grow
// with the wallet's sessions. The dev wallet's account opens, proves and closes its sessions
// straight on chain (anvil signs for its accounts: no key in the test, no chat needed); each
// measured block holds one proof of an open session on the first page, and the page has taken the
// block in once that session's proven tokens show it (the page reads everything at its block).
const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
let demo: WebDemo;
let browser: Browser;
let page: Page;
let rpc: ReturnType<typeof recordRpcCalls>;
/** The page's dev wallet: anvil's account that the web demo offers. */
let user: Address;
/** Polled on a timer, not per block: the watch for new blocks and the wallet's balance. */
const timed = new Set(["eth_blockNumber", "eth_getBalance"]);

beforeAll(async () => {
  const { createLogger } = await import("@session-jobs/cli/common");
  demo = await startWebDemo({ env: process.env, logger: createLogger(quiet, quiet), signal: new AbortController().signal, debug: false }, { build: false });
  user = getAddress(((await (await fetch(new URL("deployment.json", demo.url))).json()) as { devWallet: string }).devWallet);
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: viewports.laptop })).newPage();
  page.on("pageerror", (error) => console.error(`my sessions page error: ${error.message}`));
  rpc = recordRpcCalls(page, demo.network.anvil.rpcUrl, timed);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

const marketplace = () => demo.network.deployment.jobMarketplace;
const head = () => demo.network.publicClient.getBlockNumber({ cacheTime: 0 });
const steps = createSessionSteps(
  () => demo,
  () => user,
);
const { openSession, closeSession } = steps;
/** The host proves `tokens` more of the session: one block. Returns the tokens proven in all. */
const prove = async (jobId: bigint, tokens: bigint) => (await steps.prove(jobId, tokens)).cumulativeTokens;

const row = (jobId: bigint) => page.getByTestId("my-session").filter({ has: page.getByText(`#${jobId}`, { exact: true }) });
/** A row's cells: session, host, status, proven, deposit, actions. */
const cells = (jobId: bigint) => row(jobId).locator("td").allTextContents();
const proven = async (jobId: bigint) => (await cells(jobId))[3];
const count = (tokens: bigint) => Number(tokens).toLocaleString("en-US");

type PerBlock = { ethCall: number; getLogs: number; getBlock: number; widestLogRange: number; httpRequests: number };

/**
 * Proves the open session `jobId` once per block, `blocks` times, and returns what the page asked
 * per block, averaged. Each block is measured once the page shows the proof of the block before
 * (one round reads all it shows), so no round of another block is counted.
 */
async function costPerBlock(jobId: bigint, blocks: number): Promise<PerBlock> {
  await expect.poll(() => proven(jobId)).toBe(count(await prove(jobId, 10n)));
  const callsBefore = rpc.calls.length;
  for (let block = 0; block < blocks; block++) {
    const cumulativeTokens = await prove(jobId, 10n);
    await expect.poll(() => proven(jobId)).toBe(count(cumulativeTokens));
  }
  return {
    ethCall: rpc.perBlock(callsBefore, blocks, "eth_call"),
    getLogs: rpc.perBlock(callsBefore, blocks, "eth_getLogs"),
    getBlock: rpc.perBlock(callsBefore, blocks, "eth_getBlockByNumber"),
    widestLogRange: rpc.widestLogRange(callsBefore, await head()),
    httpRequests: rpc.requestsPerBlock(callsBefore, blocks),
  };
}

describe("My sessions' reads per block", () => {
  let first: bigint;
  let newest: bigint;
  const closed: bigint[] = [];

  it("do not grow with the wallet's sessions, nor with the chain's length", async () => {
    await page.goto(demo.url);
    await page.getByRole("button", { name: "Connect wallet" }).click();
    await page.getByRole("menuitem", { name: /Local dev wallet/ }).click();
    await page.getByTestId("account").waitFor();
    await page.getByRole("button", { name: "My sessions" }).click();
    first = await openSession();
    const few = await costPerBlock(first, 3);

    // 40 more sessions, every fifth proven twice, all closed; then the newest, open.
    for (let index = 0; index < 40; index++) {
      const jobId = await openSession();
      if (index % 5 === 0) for (let proof = 0; proof < 2; proof++) await prove(jobId, 7n);
      await closeSession(jobId);
      closed.push(jobId);
    }
    newest = await openSession();
    // Once the page lists the newest (its round read at the head, as everything it shows) it has
    // seen every other session on its page ended; past the blocks read again, they are final.
    await expect.poll(() => row(newest).count()).toBe(1);
    await createTestClient({ mode: "anvil", transport: http(demo.network.anvil.rpcUrl) }).mine({ blocks: Number(reorgWindow) });
    const many = await costPerBlock(newest, 3);
    console.log(`per block with 1 session: ${JSON.stringify(few)}; with 42 sessions: ${JSON.stringify(many)}`);

    expect(many.ethCall).toBeLessThanOrEqual(few.ethCall);
    expect(many.getLogs).toBeLessThanOrEqual(few.getLogs);
    expect(many.getBlock).toBeLessThanOrEqual(few.getBlock);
    expect(many.httpRequests).toBeLessThanOrEqual(few.httpRequests);
    // Only the blocks since the last round and those read again, never the whole history.
    expect(many.widestLogRange).toBeLessThanOrEqual(2 * Number(reorgWindow));
    await screenshot(page, "m1-my-sessions-many");
  }, 300_000);

  it("pages the sessions newest first, each with the chain's figures", async () => {
    const sessions = [first, ...closed, newest];
    await expect.poll(async () => (await page.getByTestId("my-sessions-block").textContent())?.replace(/,/g, "")).toBe(String(await head()));
    const onChain = new Map(
      await Promise.all(sessions.map(async (jobId) => [jobId, await getSession(demo.network.publicClient, { marketplace: marketplace(), jobId })] as const)),
    );
    const newestFirst = [...sessions].reverse();
    const shownJobs = () => page.getByTestId("my-session").locator("td:first-child").allTextContents();
    const pageOf = (index: number) => newestFirst.slice(index * 20, index * 20 + 20);
    /** Status, proven and deposit of every session on the page as the chain has them, written independently of the app's formatter. */
    const expectFigures = async (jobIds: bigint[]) => {
      for (const jobId of jobIds) {
        const session = onChain.get(jobId)!;
        const [, , status, shownProven, deposit] = await cells(jobId);
        // "active" or "completed": one word, shown as the chain names it (none is past its max duration).
        expect(status).toBe(session.status);
        expect(shownProven).toBe(count(session.provenTokens));
        expect(deposit).toBe(`${formatEther(session.depositAmount)} ETH`);
      }
    };
    expect(onChain.get(first)!.status).toBe("active");
    expect(onChain.get(closed[0]!)!.provenTokens).toBe(14n);

    await expect.poll(shownJobs).toEqual(pageOf(0).map((jobId) => `#${jobId}`));
    expect(await page.getByTestId("my-sessions-range").textContent()).toBe(`1–20 of ${sessions.length}, newest first`);
    await expectFigures(pageOf(0));
    await page.getByRole("button", { name: "Older" }).click();
    await expect.poll(shownJobs).toEqual(pageOf(1).map((jobId) => `#${jobId}`));
    expect(await page.getByTestId("my-sessions-range").textContent()).toBe(`21–40 of ${sessions.length}, newest first`);
    await expectFigures(pageOf(1));
    await page.getByRole("button", { name: "Older" }).click();
    await expect.poll(shownJobs).toEqual(pageOf(2).map((jobId) => `#${jobId}`));
    expect(await page.getByTestId("my-sessions-range").textContent()).toBe(`41–42 of ${sessions.length}, newest first`);
    expect(await page.getByRole("button", { name: "Older" }).isDisabled()).toBe(true);
    await expectFigures(pageOf(2));
    await screenshot(page, "m2-my-sessions-oldest-page");
    await page.getByRole("button", { name: "Newer" }).click();
    await expect.poll(shownJobs).toEqual(pageOf(1).map((jobId) => `#${jobId}`));
  }, 120_000);
});
