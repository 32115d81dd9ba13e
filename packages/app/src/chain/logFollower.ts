import { createLogRange, readLogRange } from "@session-jobs/sdk/protocol";

/**
 * Blocks at the head whose logs are read again at every round: a reorg no deeper than this
 * replaces them (logs it removed disappear, logs it added appear). Older logs are kept as read.
 */
export const reorgWindow = 12n;
/** Most blocks one `eth_getLogs` asks about; a range the RPC refuses for its size is halved (logRange.ts in @session-jobs/protocol). */
const maxBlockRange = 10_000n;
/** Full-size reads in a row after which a range made smaller by a refusal doubles back. */
const growRangeAfter = 8;

export type LogFollower<Log> = {
  /**
   * Reads the logs up to `head` that were not read yet, and those of the last {@link reorgWindow}
   * blocks again, in ranges the RPC serves. Logs that left the window were handed to `onConfirmed`,
   * once each, in chain order; the ones still in it come back (they may change). Calls run one at
   * a time; a call that fails keeps nothing of its round.
   */
  follow(head: bigint): Promise<Log[]>;
};

/**
 * Follows one `eth_getLogs` filter from `fromBlock` (a deployment's block) to the head, reading
 * each block once when it is new and again while it is within {@link reorgWindow} of the head: what
 * a round costs does not grow with the history.
 */
export function createLogFollower<Log extends { blockNumber: bigint }>(parameters: {
  fromBlock: bigint;
  getLogs: (fromBlock: bigint, toBlock: bigint) => Promise<Log[]>;
  onConfirmed: (logs: Log[]) => void;
}): LogFollower<Log> {
  const range = createLogRange({ maxBlocks: maxBlockRange, growAfter: growRangeAfter });
  /** Every block before this one has been handed to `onConfirmed`. */
  let unconfirmedFrom = parameters.fromBlock;
  let readTo: bigint | undefined;
  let tail: Log[] = [];
  let queue: Promise<unknown> = Promise.resolve();

  async function round(head: bigint): Promise<Log[]> {
    if (readTo !== undefined && head <= readTo) return tail;
    const logs: Log[] = [];
    for (let fromBlock = unconfirmedFrom; fromBlock <= head;) {
      const read = await readLogRange(range, fromBlock, head, parameters.getLogs);
      if (read === undefined) continue; // refused for its size: the range is smaller now
      logs.push(...read.logs);
      fromBlock = read.toBlock + 1n;
    }
    const confirmedTo = head - reorgWindow;
    parameters.onConfirmed(logs.filter((log) => log.blockNumber <= confirmedTo));
    if (confirmedTo >= unconfirmedFrom) unconfirmedFrom = confirmedTo + 1n;
    tail = logs.filter((log) => log.blockNumber > confirmedTo);
    readTo = head;
    return tail;
  }

  return {
    follow(head) {
      const result = queue.then(() => round(head));
      queue = result.catch(() => undefined);
      return result;
    },
  };
}

/**
 * Every log of the filter up to `head`, confirmed and still in the window, for a filter whose logs
 * are few (one session's proofs). The confirmed ones are read after the round that moved them, so a
 * log leaving the window is never in neither list.
 */
export function createLogCollector<Log extends { blockNumber: bigint }>(parameters: {
  fromBlock: bigint;
  getLogs: (fromBlock: bigint, toBlock: bigint) => Promise<Log[]>;
}): (head: bigint) => Promise<Log[]> {
  const confirmed: Log[] = [];
  const follower = createLogFollower<Log>({ ...parameters, onConfirmed: (logs) => confirmed.push(...logs) });
  return async (head) => {
    const tail = await follower.follow(head);
    return [...confirmed, ...tail];
  };
}
