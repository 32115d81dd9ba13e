import { BaseError, HttpRequestError } from "viem";

/** Words providers use when they refuse an `eth_getLogs` for its range or its answer's size ("query returned more than 10000 results", "Log response size exceeded", "block range too large", "limited to a 2,000 block range", "query timeout exceeded"). */
const refusalWords = /range|results|response size|too (many|large|big|wide)|more than|exceed|max|limit/i;
/**
 * …and words of failures a smaller range does not help: a rate limit ("daily request count exceeded, request rate limited",
 * "compute units per second capacity", "10/second request limit reached") or a node behind the head asked for ("block range extends beyond current head block").
 */
const otherWords =
  /\brate\b|rate.?limit|too many requests|per second|\/\s?second|request limit|\bcredits?\b|\bquota\b|\bcapacity\b|\bdaily\b|\bbeyond\b|\bhead\b/i;

/**
 * True when a failed `eth_getLogs` says the range it asked about spans too many blocks or brings
 * too many logs or bytes, so that a smaller range may be read. Providers word this differently and
 * use different codes (-32005, -32602, -32000, HTTP 413), so it is recognised loosely by what the
 * provider said (viem's `details`, the message of other errors), never by viem's own wording. A
 * network failure, a timeout of the request, a rate limit or a node behind the head is not:
 * retrying it in halves would only send more requests.
 */
export function isRangeRefusal(error: unknown): boolean {
  const said: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (current instanceof HttpRequestError && current.status === 413) return true;
    if (current instanceof HttpRequestError && current.status === 429) return false;
    said.push(current instanceof BaseError ? current.details : current.message);
  }
  const text = said.join("\n");
  return refusalWords.test(text) && !otherWords.test(text);
}

/**
 * How many blocks the next `eth_getLogs` asks about. It starts at `maxBlocks`; a refused range
 * halves it below the refused span (down to one block), and `growAfter` full-size reads in a row
 * double it back toward `maxBlocks`: a provider's cap on the result count passes with the busy
 * stretch, and a fixed cap on the range then costs one refusal in `growAfter + 1` reads while
 * catching up (following the head, a read spans the few blocks since the last round and grows
 * nothing).
 */
export function createLogRange(parameters: { maxBlocks: bigint; growAfter: number }) {
  const { maxBlocks, growAfter } = parameters;
  let blocks = maxBlocks;
  let fullReads = 0;
  return {
    /** The last block of the range that starts at `fromBlock`, no further than `head`. */
    end(fromBlock: bigint, head: bigint): bigint {
      const toBlock = fromBlock + blocks - 1n;
      return toBlock < head ? toBlock : head;
    },
    /** `span` blocks were read. */
    read(span: bigint) {
      if (span < blocks || ++fullReads < growAfter) return;
      fullReads = 0;
      blocks = blocks * 2n < maxBlocks ? blocks * 2n : maxBlocks;
    },
    /** `span` blocks were refused: false when that was one block, which cannot be split. */
    refused(span: bigint): boolean {
      fullReads = 0;
      if (span <= 1n) return false;
      blocks = span / 2n;
      return true;
    },
  };
}

export type LogRange = ReturnType<typeof createLogRange>;

/** The RPC refuses the logs of one block even alone (too many, too large): a watch cannot move past the block before. */
export class RefusedBlockError extends Error {
  constructor(
    readonly blockNumber: bigint,
    cause: unknown,
  ) {
    super(`the RPC refuses the logs of block ${blockNumber}`, { cause });
  }
}

/**
 * Reads the logs of the range from `fromBlock` that `range` allows (no further than `head`) with
 * `getLogs`. Undefined when the RPC refused it for its size: `range` is smaller now, read again from
 * `fromBlock`. Throws {@link RefusedBlockError} when that range was one block, and what `getLogs`
 * threw for any other failure.
 */
export async function readLogRange<Log>(
  range: LogRange,
  fromBlock: bigint,
  head: bigint,
  getLogs: (fromBlock: bigint, toBlock: bigint) => Promise<Log[]>,
): Promise<{ toBlock: bigint; logs: Log[] } | undefined> {
  const toBlock = range.end(fromBlock, head);
  const span = toBlock - fromBlock + 1n;
  try {
    const logs = await getLogs(fromBlock, toBlock);
    range.read(span);
    return { toBlock, logs };
  } catch (error) {
    if (!isRangeRefusal(error)) throw error;
    if (range.refused(span)) return undefined;
    throw new RefusedBlockError(fromBlock, error);
  }
}
