import type { PublicClient } from "viem";
import { describe, expect, it } from "vitest";
import { createCommon } from "../common.ts";
import { createSettlementWatcher } from "./settlementWatcher.ts";

/** A chain the test moves: its head, and whether reading logs fails. */
function fakeChain() {
  const chain = { head: 10n, failing: false, logCalls: 0, endings: new Map<bigint, bigint>() };
  const publicClient = {
    getBlockNumber: async () => chain.head,
    getLogs: async ({ fromBlock, toBlock }: { fromBlock: bigint; toBlock: bigint }) => {
      chain.logCalls++;
      if (chain.failing) throw new Error("RPC down");
      return [...chain.endings]
        .filter(([, block]) => block >= fromBlock && block <= toBlock)
        .map(([jobId]) => ({ eventName: "SessionCompleted", args: { jobId } }));
    },
  } as unknown as PublicClient;
  return { chain, publicClient };
}

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
});
