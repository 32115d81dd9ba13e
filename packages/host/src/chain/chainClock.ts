/** A block as the clock needs it: its number and its timestamp (unix seconds). */
export type BlockTime = { number: bigint; timestamp: bigint };

/**
 * How many blocks a chain's head may go back and still be the same chain (a reorg, an RPC behind a
 * load balancer a block or two behind another). A head further back than this is a chain restarted
 * (a development chain mining from 0 again under the same id) or a newest block that was never the
 * chain's (one bogus far-future head from an RPC): the clock and the settlement watch start again
 * from it instead of waiting, until a restart, for the chain to pass a height it may never reach.
 */
export const maxReorgDepth = 64n;

/** Whether a head numbered `head` is not the chain whose newest block known is `newest`: see {@link maxReorgDepth}. */
export const wentBack = (head: bigint, newest: bigint) => head + maxReorgDepth < newest;

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
 *   that delay, and a newer block sets it right;
 * - a head more than {@link maxReorgDepth} blocks back (a restarted chain, or a bogus newest block)
 *   is taken: the clock starts again from it.
 * design.md, "The chain's clock", says why and what it leaves.
 */
export type ChainClock = {
  /** The chain's time now, in whole seconds (floored). */
  nowSeconds(): bigint;
  /** The newest block taken. */
  readonly blockNumber: bigint;
  /** Whether a block numbered `number` would be taken: a newer one, or one that {@link wentBack}. */
  takes(number: bigint): boolean;
  /** Takes a block just read if {@link ChainClock.takes} says so; any other changes nothing. */
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
  const takes = (number: bigint) => number > anchor.number || wentBack(number, anchor.number);
  return {
    nowSeconds: () => BigInt(Math.floor((anchor.timestampMs + monotonicMs() - anchor.seenAtMs) / 1000)),
    get blockNumber() {
      return anchor.number;
    },
    takes,
    observe(block) {
      if (takes(block.number)) anchor = anchorOf(block);
    },
  };
}
