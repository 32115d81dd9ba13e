import { Writable } from "node:stream";
import { getSession } from "@session-jobs/sdk";
import { startWebDemo, type WebDemo } from "@session-jobs/cli/web-demo";
import type { Browser, Page } from "playwright-core";
import { createTestClient, getAddress, http } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reorgWindow } from "../src/chain/logFollower.ts";
import { launchChromium, screenshot, viewports } from "./browser.ts";
import { createSessionSteps, recordRpcCalls } from "./chainLoad.ts";

// The host dashboard's cost to the chain's RPC and to the node, per block, in Chromium on a local
// anvil: it must not grow with the host's sessions or proofs. Sessions are opened, proven and
// closed straight on chain (anvil signs for its accounts: no key in the test, no chat needed);
// each measured block holds one proof of an open session on the first page, and the page has
// taken the block in once it says it shows that block.
const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
let demo: WebDemo;
let browser: Browser;
let page: Page;
/** Each node read of a session, in order. */
const nodeReads: string[] = [];
let rpc: ReturnType<typeof recordRpcCalls>;
/** anvil's first account (the deployer) opens and closes the sessions; it signs the receipts too. */
const user = getAddress("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");

beforeAll(async () => {
  const { createLogger } = await import("@session-jobs/cli/common");
  demo = await startWebDemo({ env: process.env, logger: createLogger(quiet, quiet), signal: new AbortController().signal, debug: false }, { build: false });
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: viewports.laptop })).newPage();
  page.on("pageerror", (error) => console.error(`dashboard page error: ${error.message}`));
  page.on("request", (request) => {
    if (request.url().startsWith(`${demo.host.node.url}/v1/session/`)) nodeReads.push(request.url());
  });
  // The watch for new blocks polls on a timer, not per block: left out.
  rpc = recordRpcCalls(page, demo.network.anvil.rpcUrl, new Set(["eth_blockNumber"]));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

const marketplace = () => demo.network.deployment.jobMarketplace;
const { openSession, prove, closeSession } = createSessionSteps(
  () => demo,
  () => user,
);

const row = (jobId: bigint) => page.getByTestId("host-session").filter({ has: page.getByText(`#${jobId}`, { exact: true }) });
const proven = (jobId: bigint) => row(jobId).getByTestId("host-session-proven").textContent();
const count = (tokens: bigint) => Number(tokens).toLocaleString("en-US");

type PerBlock = { ethCall: number; getLogs: number; receipts: number; nodeReads: number; widestLogRange: number; httpRequests: number };

/** The block the page says it read everything shown at. */
const shownBlock = async () => BigInt(((await page.getByTestId("host-block").textContent()) ?? "").replace(/,/g, ""));

/**
 * Proves the open session `jobId` once per block, `blocks` times, and returns what the page asked
 * per block, averaged. Each block is measured once the page has shown everything at the block
 * before (one round reads all it shows), so no round of another block is counted.
 */
async function costPerBlock(jobId: bigint, blocks: number): Promise<PerBlock> {
  await expect.poll(shownBlock).toBe(await demo.network.publicClient.getBlockNumber({ cacheTime: 0 }));
  const [callsBefore, readsBefore] = [rpc.calls.length, nodeReads.length];
  for (let block = 0; block < blocks; block++) {
    const { cumulativeTokens, blockNumber } = await prove(jobId, 10n);
    await expect.poll(shownBlock).toBe(blockNumber);
    expect(await proven(jobId)).toBe(count(cumulativeTokens));
  }
  const head = await demo.network.publicClient.getBlockNumber({ cacheTime: 0 });
  return {
    ethCall: rpc.perBlock(callsBefore, blocks, "eth_call"),
    getLogs: rpc.perBlock(callsBefore, blocks, "eth_getLogs"),
    receipts: rpc.perBlock(callsBefore, blocks, "eth_getTransactionReceipt"),
    nodeReads: (nodeReads.length - readsBefore) / blocks,
    widestLogRange: rpc.widestLogRange(callsBefore, head),
    httpRequests: rpc.requestsPerBlock(callsBefore, blocks),
  };
}

describe("the host dashboard's reads per block", () => {
  let first: bigint;
  let newest: bigint;
  const closed: bigint[] = [];

  it("do not grow with the host's sessions and proofs, nor with the chain's length", async () => {
    await page.goto(demo.host.node.dashboardUrl!);
    first = await openSession();
    await prove(first, 10n);
    const few = await costPerBlock(first, 3);

    // 40 more sessions, every fifth proven twice, all closed; then the newest, open.
    for (let index = 0; index < 40; index++) {
      const jobId = await openSession();
      if (index % 5 === 0) for (let proof = 0; proof < 2; proof++) await prove(jobId, 7n);
      await closeSession(jobId);
      closed.push(jobId);
    }
    newest = await openSession();
    // Once the page shows the head it has seen every other session on its page ended; the blocks
    // read again at each round pass, and a closed session's figures are final from there on.
    await expect.poll(shownBlock).toBe(await demo.network.publicClient.getBlockNumber({ cacheTime: 0 }));
    await createTestClient({ mode: "anvil", transport: http(demo.network.anvil.rpcUrl) }).mine({ blocks: Number(reorgWindow) });
    const many = await costPerBlock(newest, 3);
    console.log(`per block with 1 session and 1-3 proofs: ${JSON.stringify(few)}; with 42 sessions and 19-21 proofs: ${JSON.stringify(many)}`);

    expect(many.ethCall).toBeLessThanOrEqual(few.ethCall);
    expect(many.getLogs).toBeLessThanOrEqual(few.getLogs);
    expect(many.receipts).toBeLessThanOrEqual(few.receipts);
    expect(many.nodeReads).toBeLessThanOrEqual(few.nodeReads);
    // Only the blocks since the last round and those read again, never the whole history.
    expect(many.widestLogRange).toBeLessThanOrEqual(2 * Number(reorgWindow));
    await screenshot(page, "d1-dashboard-many-sessions");
  }, 300_000);

  it("pages the sessions newest first, and the totals cover every session exactly", async () => {
    const sessions = [first, ...closed, newest];
    const onChain = await Promise.all(sessions.map((jobId) => getSession(demo.network.publicClient, { marketplace: marketplace(), jobId })));
    const provenTotal = onChain.reduce((sum, session) => sum + session.provenTokens, 0n);
    await expect.poll(() => page.getByTestId("host-session-count").textContent()).toBe(String(sessions.length));
    await expect.poll(() => page.getByTestId("host-proven-total").textContent()).toBe(count(provenTotal));

    const newestFirst = [...sessions].reverse();
    const shownJobs = () => page.getByTestId("host-session").locator("td:first-child").allTextContents();
    const pageOf = (index: number) => newestFirst.slice(index * 20, index * 20 + 20).map((jobId) => `#${jobId}`);
    await expect.poll(shownJobs).toEqual(pageOf(0));
    await page.getByRole("button", { name: "Older" }).click();
    await expect.poll(shownJobs).toEqual(pageOf(1));
    expect(await page.getByTestId("host-sessions-range").textContent()).toBe(`21–40 of ${sessions.length}, newest first`);
    await page.getByRole("button", { name: "Older" }).click();
    await expect.poll(shownJobs).toEqual(pageOf(2));
    expect(await page.getByRole("button", { name: "Older" }).isDisabled()).toBe(true);
    // Proven on the page = proven on chain, per session, on the last page too.
    for (const [index, jobId] of sessions.entries()) {
      if (!pageOf(2).includes(`#${jobId}`)) continue;
      await expect.poll(() => proven(jobId)).toBe(count(onChain[index]!.provenTokens));
    }
    await screenshot(page, "d2-dashboard-oldest-page");
    await page.getByRole("button", { name: "Newer" }).click();
    await expect.poll(shownJobs).toEqual(pageOf(1));
  }, 120_000);
});
