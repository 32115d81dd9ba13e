import type { PublicClient } from "viem";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createCommon } from "../common.ts";
import { createSettlementWatcher } from "./settlementWatcher.ts";

/**
 * A chain the test moves: its head, the block of each job's ending, whether reading logs fails (with
 * `failure`), and a provider's caps on `eth_getLogs` (a range over `maxBlocks` blocks, an answer over
 * `maxLogs` logs), refused in the words providers use. `asked` is every range asked for, `served`
 * every range answered.
 */
function fakeChain() {
  const chain = {
    head: 10n,
    failing: false,
    failure: "RPC down",
    maxBlocks: Infinity,
    maxLogs: Infinity,
    logCalls: 0,
    endings: new Map<bigint, bigint>(),
    asked: [] as [bigint, bigint][],
    served: [] as [bigint, bigint][],
  };
  const publicClient = {
    getBlockNumber: async () => chain.head,
    getLogs: async ({ fromBlock, toBlock }: { fromBlock: bigint; toBlock: bigint }) => {
      chain.logCalls++;
      chain.asked.push([fromBlock, toBlock]);
      if (chain.failing) throw new Error(chain.failure);
      if (toBlock - fromBlock + 1n > chain.maxBlocks) throw new Error(`block range too large: eth_getLogs is limited to a ${chain.maxBlocks} block range`);
      const logs = [...chain.endings]
        .filter(([, block]) => block >= fromBlock && block <= toBlock)
        .sort(([, a], [, b]) => Number(a - b))
        .map(([jobId]) => ({ eventName: "SessionCompleted", args: { jobId } }));
      if (logs.length > chain.maxLogs)
        throw new Error(`query returned more than ${chain.maxLogs} results. Try with this block range [${fromBlock}, ${toBlock}].`);
      chain.served.push([fromBlock, toBlock]);
      return logs;
    },
  } as unknown as PublicClient;
  return { chain, publicClient };
}

/** A watcher over `publicClient` from its head, reporting into `ended`, logging into `logs` (JSON lines). */
async function watch(publicClient: PublicClient, pollingIntervalMs = 1) {
  const ended: bigint[] = [];
  const logs: { level: string; message: string; blockNumber?: string }[] = [];
  const common = createCommon({ logLevel: "info", logDestination: { write: (line: string) => logs.push(JSON.parse(line) as (typeof logs)[number]) } });
  const watcher = createSettlementWatcher({
    common,
    publicClient,
    marketplace: "0x0000000000000000000000000000000000000001",
    pollingIntervalMs,
    onSessionEnded: (jobId) => ended.push(jobId),
  });
  await watcher.start();
  const watchBlock = async () => (await common.metrics.settlementWatchBlock.get()).values[0]!.value;
  return { watcher, ended, logs, watchBlock };
}

/** Every range in `ranges` starts right after the one before, from `from` to `to`: no block skipped or read twice. */
function expectContiguous(ranges: [bigint, bigint][], from: bigint, to: bigint) {
  expect(ranges[0]![0]).toBe(from);
  expect(ranges.at(-1)![1]).toBe(to);
  ranges.forEach(([start], index) => index > 0 && expect(start).toBe(ranges[index - 1]![1] + 1n));
}

afterEach(() => void vi.useRealTimers());

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe("settlement watcher", () => {
  it("moves what it vouches for only after a complete round has reported every ending, and not while rounds fail", async () => {
    const { chain, publicClient } = fakeChain();
    let clock = 1_000;
    const ended: bigint[] = [];
    const watcher = createSettlementWatcher({
      common: createCommon({ logLevel: "error" }),
      publicClient,
      marketplace: "0x0000000000000000000000000000000000000001",
      pollingIntervalMs: 1,
      now: () => clock,
      onSessionEnded: (jobId) => ended.push(jobId),
    });
    await watcher.start();
    try {
      expect(watcher.reportedEndings()).toBeUndefined();
      await until(() => watcher.reportedEndings() !== undefined);
      expect(watcher.reportedEndings()).toEqual({ since: 1_000, until: 1_000 });

      clock = 2_000;
      chain.endings.set(7n, 11n);
      chain.head = 11n;
      await until(() => watcher.reportedEndings()!.until === 2_000);
      expect(ended).toEqual([7n]); // reported before the round counts

      chain.failing = true;
      chain.head = 12n;
      clock = 3_000;
      const calls = chain.logCalls;
      await until(() => chain.logCalls >= calls + 3);
      expect(watcher.reportedEndings()).toEqual({ since: 1_000, until: 2_000 });

      chain.failing = false;
      await until(() => watcher.reportedEndings()!.until === 3_000);
    } finally {
      watcher.stop();
    }
  });

  it("reads a backlog through a provider's caps on eth_getLogs in smaller ranges, in order, each block once, and grows the range back", async () => {
    const { chain, publicClient } = fakeChain();
    const { watcher, ended, watchBlock } = await watch(publicClient);
    try {
      await until(() => watcher.reportedEndings() !== undefined);
      chain.maxBlocks = 300;
      chain.maxLogs = 2;
      // Dense at first (ranges must come down to a few blocks), then sparse.
      const blocks = [12n, 13n, 14n, 15n, 16n, 17n, 500n, 1_500n, 1_500n, 2_999n, 3_000n];
      blocks.forEach((block, index) => chain.endings.set(BigInt(index + 1), block));
      chain.head = 3_000n;
      await until(() => ended.length === blocks.length);
      await until(() => chain.served.at(-1)?.[1] === 3_000n);

      expect(ended).toEqual(blocks.map((_, index) => BigInt(index + 1)));
      expectContiguous(chain.served, 11n, 3_000n);
      expect(chain.served.every(([from, to]) => to - from + 1n <= 300n)).toBe(true);
      expect(chain.asked.length - chain.served.length).toBeGreaterThan(0); // it was refused
      const sizes = chain.served.map(([from, to]) => to - from + 1n);
      expect(sizes.at(-2)).toBeGreaterThan(sizes.reduce((a, b) => (a < b ? a : b))); // grown back after the dense part
      expect(await watchBlock()).toBe(3_000);
    } finally {
      watcher.stop();
    }
  });

  it("does not split a range on a network failure or a rate limit, and retries it whole at each poll as before", async () => {
    for (const failure of ["RPC down", "daily request count exceeded, request rate limited", "Your app has exceeded its compute units per second capacity"]) {
      const { chain, publicClient } = fakeChain();
      const { watcher, ended } = await watch(publicClient);
      try {
        await until(() => watcher.reportedEndings() !== undefined);
        chain.failing = true;
        chain.failure = failure;
        chain.endings.set(1n, 20n);
        chain.head = 20n;
        await until(() => chain.asked.length >= 3);
        expect(new Set(chain.asked.map(([from, to]) => `${from}-${to}`))).toEqual(new Set(["11-20"]));
        chain.failing = false;
        await until(() => ended.length === 1);
      } finally {
        watcher.stop();
      }
    }
  });

  it("stays before a block refused even alone, warns once, backs off, and reads it once it can", async () => {
    vi.useFakeTimers();
    const { chain, publicClient } = fakeChain();
    const { watcher, ended, logs, watchBlock } = await watch(publicClient, 1_000);
    try {
      await vi.advanceTimersByTimeAsync(1_000);
      const vouched = watcher.reportedEndings();
      expect(vouched).toBeDefined();
      chain.maxLogs = 2;
      [11n, 12n, 12n, 12n, 13n].forEach((block, index) => chain.endings.set(BigInt(index + 1), block));
      chain.head = 13n;
      await vi.advanceTimersByTimeAsync(200_000); // 200 polls

      expect(ended).toEqual([1n]); // block 12 neither skipped nor half read
      expect(await watchBlock()).toBe(11);
      expect(watcher.reportedEndings()).toEqual(vouched);
      const triesOfBlock12 = chain.asked.filter(([from, to]) => from === 12n && to === 12n).length;
      expect(triesOfBlock12).toBeGreaterThan(2);
      expect(triesOfBlock12).toBeLessThan(15); // backs off: 1, 2, 4 … 60 s apart, not every poll
      const warnings = logs.filter((line) => line.level === "warn");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ blockNumber: "12" });
      expect(warnings[0]!.message).toMatch(/refuses the logs of one block/);

      chain.maxLogs = 10;
      await vi.advanceTimersByTimeAsync(61_000);
      expect(ended).toEqual([1n, 2n, 3n, 4n, 5n]);
      expect(await watchBlock()).toBe(13);
      expect(logs.at(-1)).toMatchObject({ level: "info", message: "settlement watch resumed" });
    } finally {
      watcher.stop();
    }
  });
});
