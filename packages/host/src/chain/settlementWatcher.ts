import type { Address, PublicClient } from "viem";
import { jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";
import type { Common } from "../common.ts";
import type { ChainClock } from "./chainClock.ts";
import type { OnChainSession, ReportedEndings } from "./chainSession.ts";
import { createLogRange, readLogRange, RefusedBlockError, type SessionStatus } from "@session-jobs/protocol";
import { createSessionCreations, creationEvents, type SessionCreations } from "./sessionCreations.ts";

/** The marketplace's events that end a session, and the status each leaves it in. */
const endings = { SessionCompleted: "completed", SessionTimedOut: "timedOut", SessionAbandoned: "abandoned" } as const satisfies Record<string, SessionStatus>;
const endingEvents = jobMarketplaceWithModelsAbi.filter((item) => item.type === "event" && item.name in endings);
/** Most blocks one `eth_getLogs` asks about (providers cap the range; a refused range is split: logRange.ts in @session-jobs/protocol). */
const maxBlockRange = 1_000n;
/** Full-size reads in a row after which a range made smaller by a refusal doubles back. */
const growRangeAfter = 8;
/** The longest wait between tries of a block whose logs the RPC refuses even alone. */
const maxRefusedBlockDelayMs = 60_000;

export type SettlementWatcher = {
  start(): Promise<void>;
  stop(): void;
  /** How far its reports reach (chainSession.ts): a cached session is as fresh as the last complete round. */
  reportedEndings: ReportedEndings;
};

/**
 * Watches the marketplace for sessions that end (completed, timed out, abandoned) and reports
 * each once the block that ended it is seen, so that a settled session is served nothing more,
 * not even until a cached read of it expires. Blocks are read in order from the head at start;
 * sessions that ended earlier are read fresh the first time they are seen. Each complete round
 * (every ending up to the head it asked for reported) moves {@link SettlementWatcher.reportedEndings}
 * on, which keeps cached sessions current without reading them again; a round that fails moves
 * nothing, so cached sessions expire `limits.sessionCacheMs` after the last one that completed.
 *
 * With `created`, the same `eth_getLogs` also brings every session created (for any host: the
 * endings cannot be filtered by host either) and the ProofSystem's verifier changes, and each
 * session created for `created.host` is reported with the terms a chain read gives
 * (sessionCreations.ts) before any ending of the same range: a session's first request then needs
 * no chain read. A session created before the watch began, or whose terms could not be derived,
 * is read from chain as before.
 *
 * A range the RPC refuses for its size (too many blocks, logs or bytes) is read again in halves, in
 * order, down to one block, and later ranges stay that small until full-size reads in a row
 * double them back (logRange.ts). A block refused even alone is not skipped (its endings would be lost): the watch
 * stays at the block before it, warns once, and tries it again after twice the wait of the last
 * try, up to a minute, until it is read.
 *
 * With `clock`, each new head's timestamp is read (one `eth_getBlockByNumber` per head that moved,
 * none while the chain stands still) and given to the chain's clock before that head's logs, so a
 * block the watch has reached is one the clock has seen.
 */
export function createSettlementWatcher(parameters: {
  common: Common;
  publicClient: PublicClient;
  marketplace: Address;
  pollingIntervalMs: number;
  onSessionEnded: (jobId: bigint, status: SessionStatus) => void;
  /** Report sessions created for `host`: each with the round's clock reading (`seenAt`), the head it read having been asked for no earlier. */
  created?: { host: Address; onSessionCreated: (session: OnChainSession, seenAt: number) => void };
  /** The clock in milliseconds (the session cache's). Default `Date.now`. */
  now?: () => number;
  /** The chain's clock, kept current from the heads the watch reads. */
  clock?: ChainClock;
}): SettlementWatcher {
  const { common, publicClient, marketplace } = parameters;
  const now = parameters.now ?? Date.now;
  let seen: bigint | undefined;
  let since: number | undefined;
  let until: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let failing = false;
  /** Polls to let pass before the next, and tries so far, while a block is refused even alone. */
  let skipPolls = 0;
  let refusedTries = 0;
  const range = createLogRange({ maxBlocks: maxBlockRange, growAfter: growRangeAfter });
  let stopped = false;
  let creations: SessionCreations | undefined;
  let addresses: Address[] = [marketplace];
  const events = parameters.created ? [...endingEvents, ...creationEvents] : endingEvents;

  async function poll(): Promise<void> {
    const askedAt = now();
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    await observeTime(head);
    while (seen !== undefined && seen < head) {
      const fromBlock = seen + 1n;
      const read = await readLogRange(range, fromBlock, head, (fromBlock, toBlock) =>
        publicClient.getLogs({ address: addresses, events, fromBlock, toBlock, strict: true }),
      );
      if (stopped) return;
      if (read === undefined) continue; // refused: the range is smaller now
      const { toBlock, logs } = read;
      const created = creations ? await creations.sessions(logs, fromBlock) : [];
      if (stopped) return;
      // Before the endings: a session created and ended in the same range is reported ended.
      for (const session of created) parameters.created?.onSessionCreated(session, askedAt);
      for (const log of logs) {
        if (!(log.eventName in endings)) continue;
        const jobId = (log.args as { jobId: bigint }).jobId;
        parameters.onSessionEnded(jobId, endings[log.eventName as keyof typeof endings]);
      }
      seen = toBlock;
      common.metrics.settlementWatchBlock.set(Number(seen));
    }
    // onSessionEnded has applied every ending up to a head no older than `askedAt`.
    until = askedAt;
  }

  async function observeTime(head: bigint): Promise<void> {
    const { clock } = parameters;
    if (clock && head > clock.blockNumber) clock.observe(await publicClient.getBlock({ blockNumber: head }));
  }

  /** Sets the wait before the next try of a block refused even alone: the polling interval, doubled per try up to a minute. */
  function backOff(error: RefusedBlockError) {
    const delayMs = Math.min(maxRefusedBlockDelayMs, parameters.pollingIntervalMs * 2 ** refusedTries);
    skipPolls = Math.ceil(delayMs / parameters.pollingIntervalMs) - 1;
    if (refusedTries === 0)
      common.logger.warn(
        "the RPC refuses the logs of one block even alone (too many or too large for it); the settlement watch stays before it and tries again, " +
          "backing off up to a minute: cached sessions are trusted for limits.sessionCacheMs after its last round, then read from chain. Use an RPC with a larger eth_getLogs cap",
        { blockNumber: error.blockNumber, error: error.cause },
      );
    refusedTries++;
  }

  return {
    async start() {
      if (parameters.created) {
        const proofSystem = await publicClient.readContract({ address: marketplace, abi: jobMarketplaceWithModelsAbi, functionName: "proofSystem" });
        creations = createSessionCreations({ common, publicClient, proofSystem, host: parameters.created.host });
        addresses = [marketplace, proofSystem];
      }
      since = now();
      seen = await publicClient.getBlockNumber({ cacheTime: 0 });
      await observeTime(seen);
      common.metrics.settlementWatchBlock.set(Number(seen));
      timer = setInterval(() => {
        if (polling) return;
        if (skipPolls > 0) return void skipPolls--;
        polling = true;
        poll()
          .then(() => {
            if (failing) common.logger.info("settlement watch resumed");
            failing = false;
            refusedTries = 0;
          })
          .catch((error: unknown) => {
            // Until it resumes, a cached session is trusted for limits.sessionCacheMs after the last round at most.
            if (error instanceof RefusedBlockError) backOff(error);
            else if (!failing) common.logger.warn("cannot watch settlements; retrying", { error });
            failing = true;
          })
          .finally(() => (polling = false));
      }, parameters.pollingIntervalMs);
      timer.unref();
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
    reportedEndings: () => (since !== undefined && until !== undefined ? { since, until } : undefined),
  };
}
