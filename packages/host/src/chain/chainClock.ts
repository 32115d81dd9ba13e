/** A block as the clock needs it: its number and its timestamp (unix seconds). */
export type BlockTime = { number: bigint; timestamp: bigint };

/**
 * The chain's time as the node judges it: what the contract compares a session's deadline with is
 * `block.timestamp`, not the host's wall clock. The newest block the node has seen, plus the time
 * elapsed since it first saw that block on the process's monotonic clock, so that:
 * - the host's wall clock, ahead or behind, plays no part (only its rate does);
 * - a chain that mines rarely (a block only per transaction) still moves on between its blocks, as
 *   the timestamp of the next block, one that could time a session out, would;
 * - a stalled chain or an unreachable RPC does not stop the clock (a timeout can land in the first
 *   block after the stall, and proofs cannot land during it);
 * - a block the node saw late (it polls every `chain.pollingIntervalMs`) makes it run behind by
 *   that delay, and a newer block sets it right.
 * design.md, "The chain's clock", says why and what it leaves.
 */
export type ChainClock = {
  /** The chain's time now, in whole seconds (floored). */
  nowSeconds(): bigint;
  /** The newest block taken. */
  readonly blockNumber: bigint;
  /** Takes a block just read; one no newer than the newest taken changes nothing. */
  observe(block: BlockTime): void;
};

/**
 * @example
 * const clock = createChainClock(await publicClient.getBlock());
 * if (clock.nowSeconds() >= session.createdAt + session.maxDuration) refuse();
 */
export function createChainClock(first: BlockTime, monotonicMs: () => number = () => performance.now()): ChainClock {
  const anchorOf = (block: BlockTime) => ({ number: block.number, timestampMs: Number(block.timestamp) * 1000, seenAtMs: monotonicMs() });
  let anchor = anchorOf(first);
  return {
    nowSeconds: () => BigInt(Math.floor((anchor.timestampMs + monotonicMs() - anchor.seenAtMs) / 1000)),
    get blockNumber() {
      return anchor.number;
    },
    observe(block) {
      if (block.number > anchor.number) anchor = anchorOf(block);
    },
  };
}
