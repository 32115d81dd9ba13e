/**
 * The settlement watcher's session creations against anvil: each session created for the host is
 * reported with exactly what a chain read gives, and the session cache then answers its first
 * request without reading the chain.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPublicClient, custom, hexToBigInt, numberToHex, zeroHash, type Address, type Hex, type PublicClient } from "viem";
import { readOnChainSession, type SessionStatus } from "@session-jobs/protocol";
import { anvilPrivateKeys } from "@session-jobs/contracts/anvil";
import { jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";
import { createCommon, type Common } from "../common.ts";
import type { HostConfig } from "../config/config.ts";
import { startTestChain, type TestChain } from "../testUtils/testChain.ts";
import { createSessionCache, type OnChainSession, type SessionCache } from "./chainSession.ts";
import { registerHost } from "./register.ts";
import { createSettlementWatcher, type SettlementWatcher } from "./settlementWatcher.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

const ethPrice = 2_000_000_000n; // the test host's native minimum
const usdcPrice = 3_000n;
let chain: TestChain;
let config: HostConfig;
let watcher: SettlementWatcher;
const created = new Map<bigint, OnChainSession>();
const ended = new Map<bigint, SessionStatus>();
/** What the watchers reported, in order. */
const journal: string[] = [];
/** Another host's sessions are not this host's to report. */
let otherHost: Address;
/** Any address with code serves as a verifier: creation only asks whether one is set. */
let verifier: Address;
/** The cache the watcher feeds as the node wires it (created, then ended), when a test sets one. */
let feed: SessionCache | undefined;

const dbPath = () => join(tempDir("host-creations-"), "host.sqlite");
const read = (jobId: bigint) => readOnChainSession(chain.publicClient, { marketplace: chain.contracts.jobMarketplace, jobId });

/** A watcher from the current head, reporting into `created` and `ended` and feeding {@link feed} as the node wires its cache. */
async function startWatcher(publicClient: PublicClient = chain.publicClient, common: Common = createCommon({ logLevel: "silent" })) {
  const started = createSettlementWatcher({
    common,
    publicClient,
    marketplace: chain.contracts.jobMarketplace,
    pollingIntervalMs: 20,
    created: {
      host: config.account.address,
      onSessionCreated: (session, seenAt) => {
        created.set(session.jobId, session);
        journal.push(`created ${session.jobId}`);
        feed?.created(session, seenAt);
      },
    },
    onSessionEnded: (jobId, status) => {
      ended.set(jobId, status);
      journal.push(`ended ${jobId}`);
      feed?.update(jobId, { status });
    },
  });
  await started.start();
  return started;
}

beforeAll(async () => {
  chain = await startTestChain({ deployTestUsdc: true });
  config = chain.hostConfig({ dbPath: dbPath() });
  const other = chain.hostConfig({ dbPath: dbPath(), privateKey: anvilPrivateKeys[3] });
  await registerHost({ config });
  await registerHost({ config: other });
  otherHost = other.account.address;
  verifier = chain.contracts.usdc!;
  watcher = await startWatcher();
}, 60_000);

afterAll(async () => {
  watcher?.stop();
  await chain?.stop();
});

/** Waits until `watching` has read every block mined so far. */
async function caughtUp(watching: SettlementWatcher = watcher) {
  // A round that asks for the head after now reads every block mined before; its completion moves `until` past now.
  const startedAt = Date.now();
  await expect.poll(() => watching.reportedEndings()?.until ?? 0, { timeout: 20_000 }).toBeGreaterThan(startedAt);
}

const nextJobId = () =>
  chain.publicClient.readContract({ address: chain.contracts.jobMarketplace, abi: jobMarketplaceWithModelsAbi, functionName: "nextJobId" });

const open = (parameters: { token?: Address; sessionKey?: boolean; modelId?: Hex; deposit?: bigint; host?: Address }) =>
  chain.openSession({
    host: parameters.host ?? config.account.address,
    pricePerToken: parameters.token ? usdcPrice : ethPrice,
    deposit: parameters.deposit ?? (parameters.token ? 1_000_000n : 10n ** 15n),
    proofInterval: 100n,
    ...parameters,
  });

/**
 * A test sends up to twenty transactions and waits for each, then for the watcher ({@link caughtUp}: 20 s at most);
 * on a loaded machine that took longer than Vitest's default 5 s.
 */
const chainTestTimeoutMs = 60_000;

describe("sessions the settlement watcher sees created", { timeout: chainTestTimeoutMs }, () => {
  it("are reported with exactly what a chain read gives, for every shape of session", async () => {
    const usdc = chain.contracts.usdc!;
    const shapes = [
      { name: "ETH, session key, model without verifier" },
      { name: "ETH, the depositor signs", sessionKey: false },
      { name: "ERC-20, session key", token: usdc },
      { name: "ERC-20, the depositor signs", token: usdc, sessionKey: false },
      { name: "any model", modelId: zeroHash },
      { name: "more tokens than the contract stores (capped to uint48)", token: usdc, deposit: 10n ** 18n },
    ];
    const jobs: bigint[] = [];
    for (const shape of shapes) jobs.push((await open(shape)).jobId);
    await chain.setModelVerifier(chain.modelId, verifier);
    const verified = (await open({})).jobId;
    await chain.setModelVerifier(chain.modelId, "0x0000000000000000000000000000000000000000");
    const afterVerifier = (await open({ token: usdc })).jobId;
    await caughtUp();

    for (const jobId of [...jobs, verified, afterVerifier]) {
      expect(created.get(jobId), `job ${jobId}`).toEqual(await read(jobId));
    }
    expect(created.get(verified)!.modelId).toBe(chain.modelId);
    expect(created.get(afterVerifier)!.modelId).toBe(zeroHash);
    expect(created.get(jobs[5]!)!.maxTokens).toBe(2n ** 48n - 1n);
  });

  it("place a verifier change in the same block as creations where the chain does, for a model first named there", async () => {
    // The main watcher has learned the model's verifier already: this one learns it from this block.
    watcher.stop();
    const fresh = await startWatcher();
    await chain.anvilRpc("evm_setAutomine", [false]);
    try {
      const before = await chain.sendOpenSession({ host: config.account.address, pricePerToken: ethPrice, deposit: 10n ** 15n, proofInterval: 100n });
      await chain.setModelVerifier(chain.modelId, verifier, { mine: false });
      const after = await chain.sendOpenSession({ host: config.account.address, pricePerToken: ethPrice, deposit: 10n ** 15n, proofInterval: 100n });
      await chain.anvilRpc("evm_mine");
      const receipts = await Promise.all([before.hash, after.hash].map((hash) => chain.publicClient.getTransactionReceipt({ hash })));
      expect(receipts[0]!.blockNumber).toBe(receipts[1]!.blockNumber);
    } finally {
      await chain.anvilRpc("evm_setAutomine", [true]);
    }
    await chain.setModelVerifier(chain.modelId, "0x0000000000000000000000000000000000000000");
    await caughtUp(fresh);
    fresh.stop();
    watcher = await startWatcher();
    const next = await nextJobId();
    const [before, after] = [next - 2n, next - 1n];
    expect(created.get(before)).toEqual(await read(before));
    expect(created.get(after)).toEqual(await read(after));
    expect([created.get(before)!.modelId, created.get(after)!.modelId]).toEqual([zeroHash, chain.modelId]);
  });

  it("take their creation time from the block where the node's logs do not carry it, and are left to a chain read when the block cannot be read", async () => {
    watcher.stop();
    let blocksFail = false;
    // A node that leaves `blockTimestamp` out of its logs (it is recent in eth_getLogs), and whose block reads the test can break.
    const client = {
      ...chain.publicClient,
      getLogs: async (parameters: Parameters<PublicClient["getLogs"]>[0]) =>
        (await chain.publicClient.getLogs(parameters)).map((log) => ({ ...log, blockTimestamp: undefined })),
      getBlock: async (parameters: Parameters<PublicClient["getBlock"]>[0]) => {
        if (blocksFail) throw new Error("block unavailable");
        return chain.publicClient.getBlock(parameters);
      },
    } as PublicClient;
    const lacking = await startWatcher(client);
    try {
      const { jobId } = await open({});
      await caughtUp(lacking);
      expect(created.get(jobId)).toEqual(await read(jobId));

      blocksFail = true;
      const unread = (await open({})).jobId;
      await chain.publicClient.waitForTransactionReceipt({ hash: await chain.sendCompleteSession(jobId) });
      await caughtUp(lacking);
      expect(created.has(unread)).toBe(false);
      expect(ended.get(jobId)).toBe("completed"); // endings do not wait on creations
    } finally {
      lacking.stop();
      watcher = await startWatcher();
    }
  });

  it("are not reported for another host", async () => {
    const { jobId } = await open({ host: otherHost });
    await caughtUp();
    expect(created.has(jobId)).toBe(false);
  });
});

/**
 * A node behind a provider that caps `eth_getLogs` as real ones do: a range over `maxBlocks` blocks,
 * or an answer over `maxLogs` logs, is refused with the provider's words and code. While `frozenHead`
 * is set the node says the chain is there (a watcher that was down). `served` is every range answered.
 */
function cappedRpc(caps: { maxBlocks: bigint; maxLogs: number }) {
  const rpc = { frozenHead: undefined as bigint | undefined, refused: 0, served: [] as [bigint, bigint][] };
  const request = async ({ method, params }: { method: string; params?: unknown }) => {
    if (method === "eth_blockNumber" && rpc.frozenHead !== undefined) return numberToHex(rpc.frozenHead);
    const refuse = (code: number, message: string) => {
      rpc.refused++;
      return Object.assign(new Error(message), { code });
    };
    const range = method === "eth_getLogs" && (params as [{ fromBlock: Hex; toBlock: Hex }])[0];
    if (range && hexToBigInt(range.toBlock) - hexToBigInt(range.fromBlock) + 1n > caps.maxBlocks)
      throw refuse(-32600, `eth_getLogs is limited to a ${caps.maxBlocks} block range`);
    const result: unknown = await chain.publicClient.request({ method, params } as never);
    if (range && (result as unknown[]).length > caps.maxLogs) throw refuse(-32005, `query returned more than ${caps.maxLogs} results`);
    if (range) rpc.served.push([hexToBigInt(range.fromBlock), hexToBigInt(range.toBlock)]);
    return result;
  };
  // No retries of a refusal by viem: the test counts what the watcher asks.
  return { rpc, publicClient: createPublicClient({ transport: custom({ request }, { retryCount: 0 }) }) as PublicClient };
}

/**
 * The provider's cap on a range, far below the watcher's own 1,000 blocks; the backlog is a few
 * hundred blocks, so that the watcher halves its range, grows it back and is refused again. Small:
 * anvil writes each block's state to disk, and 2,000 blocks took a minute on a loaded machine.
 */
const providerMaxBlocks = 20n;

describe("the settlement watcher behind a provider's caps on eth_getLogs", () => {
  it(
    "catches up on a backlog in ranges the provider serves: every creation and ending once, in order, and its head at the chain's",
    async () => {
      watcher.stop();
      const { rpc, publicClient } = cappedRpc({ maxBlocks: providerMaxBlocks, maxLogs: 2 });
      const common = createCommon({ logLevel: "silent" });
      const capped = await startWatcher(publicClient, common);
      const from = await chain.publicClient.getBlockNumber();
      rpc.frozenHead = from;
      const reported = journal.length;
      try {
        const a = (await open({})).jobId;
        await open({ host: otherHost });
        const c = (await open({ token: chain.contracts.usdc! })).jobId;
        await chain.publicClient.waitForTransactionReceipt({ hash: await chain.sendCompleteSession(a) });
        await chain.anvilRpc("anvil_mine", [numberToHex(6n * providerMaxBlocks)]);
        await chain.setModelVerifier(chain.modelId, verifier);
        const d = (await open({})).jobId;
        await chain.setModelVerifier(chain.modelId, "0x0000000000000000000000000000000000000000");
        await chain.publicClient.waitForTransactionReceipt({ hash: await chain.sendCompleteSession(c) });
        await chain.anvilRpc("anvil_mine", [numberToHex(4n * providerMaxBlocks)]);
        const e = (await open({})).jobId;
        await chain.publicClient.waitForTransactionReceipt({ hash: await chain.sendCompleteSession(e) });
        const head = await chain.publicClient.getBlockNumber();
        rpc.frozenHead = undefined;
        await caughtUp(capped);

        expect(journal.slice(reported)).toEqual([`created ${a}`, `created ${c}`, `ended ${a}`, `created ${d}`, `ended ${c}`, `created ${e}`, `ended ${e}`]);
        for (const jobId of [a, c, d, e]) expect(created.get(jobId), `job ${jobId}`).toEqual({ ...(await read(jobId)), status: "active", provenTokens: 0n });
        expect(created.get(d)!.modelId).toBe(chain.modelId);
        expect(rpc.refused).toBeGreaterThan(0);
        const caughtUpRanges = rpc.served.filter(([start]) => start > from);
        expect(caughtUpRanges[0]![0]).toBe(from + 1n);
        caughtUpRanges.forEach(([start, end], index) => {
          expect(end - start + 1n).toBeLessThanOrEqual(providerMaxBlocks);
          if (index > 0) expect(start).toBe(caughtUpRanges[index - 1]![1] + 1n);
        });
        expect(caughtUpRanges.at(-1)![1]).toBeGreaterThanOrEqual(head);
        expect((await common.metrics.settlementWatchBlock.get()).values[0]!.value).toBeGreaterThanOrEqual(Number(head));
      } finally {
        capped.stop();
        watcher = await startWatcher();
      }
    },
    chainTestTimeoutMs,
  );
});

describe("the session cache fed by the watcher", { timeout: chainTestTimeoutMs }, () => {
  /** A cache as the node wires it (fed by the watcher), counting its chain reads. */
  function cacheOverChain() {
    const reads: bigint[] = [];
    const cache = createSessionCache({
      read: (jobId) => {
        reads.push(jobId);
        return read(jobId);
      },
      maxAgeMs: 600_000,
      reportedEndings: watcher.reportedEndings,
    });
    feed = cache;
    return { cache, reads };
  }

  it("answers a session's first request from the creation the watcher saw, reading nothing", async () => {
    const { cache, reads } = cacheOverChain();
    const { jobId } = await open({});
    await caughtUp();
    expect(await cache.get(jobId)).toEqual(await read(jobId));
    expect(reads).toEqual([]);
  });

  it("still reads a session the watcher has not reported (its report held back)", async () => {
    const { cache, reads } = cacheOverChain();
    feed = undefined;
    const { jobId } = await open({});
    expect((await cache.get(jobId)).status).toBe("active");
    expect(reads).toEqual([jobId]);
  });

  it("does not serve a session created and ended in the same round", async () => {
    const { cache, reads } = cacheOverChain();
    await chain.anvilRpc("evm_setAutomine", [false]);
    let jobId: bigint;
    try {
      jobId = await nextJobId();
      await chain.sendOpenSession({ host: config.account.address, pricePerToken: ethPrice, deposit: 10n ** 15n, proofInterval: 100n });
      await chain.sendCompleteSession(jobId);
      await chain.anvilRpc("evm_mine");
    } finally {
      await chain.anvilRpc("evm_setAutomine", [true]);
    }
    await caughtUp();
    expect(ended.get(jobId)).toBe("completed");
    expect((await cache.get(jobId)).status).toBe("completed");
    expect(reads).toEqual([]);
  });
});
