import type { Address, PublicClient } from "viem";
import { jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";
import type { SessionStatus } from "@session-jobs/protocol";
import type { Common } from "../common.ts";
import type { ReportedEndings } from "./chainSession.ts";

/** The marketplace's events that end a session, and the status each leaves it in. */
const endings = { SessionCompleted: "completed", SessionTimedOut: "timedOut", SessionAbandoned: "abandoned" } as const satisfies Record<string, SessionStatus>;
const endingEvents = jobMarketplaceWithModelsAbi.filter((item) => item.type === "event" && item.name in endings);
/** Most blocks one `eth_getLogs` asks about (providers cap the range). */
const maxBlockRange = 1_000n;

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
 */
export function createSettlementWatcher(parameters: {
  common: Common;
  publicClient: PublicClient;
  marketplace: Address;
  pollingIntervalMs: number;
  onSessionEnded: (jobId: bigint, status: SessionStatus) => void;
  /** The clock in milliseconds (the session cache's). Default `Date.now`. */
  now?: () => number;
}): SettlementWatcher {
  const { common, publicClient, marketplace } = parameters;
  const now = parameters.now ?? Date.now;
  let seen: bigint | undefined;
  let since: number | undefined;
  let until: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let failing = false;
  let stopped = false;

  async function poll(): Promise<void> {
    const askedAt = now();
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    while (seen !== undefined && seen < head) {
      const toBlock = seen + maxBlockRange < head ? seen + maxBlockRange : head;
      const logs = await publicClient.getLogs({ address: marketplace, events: endingEvents, fromBlock: seen + 1n, toBlock, strict: true });
      if (stopped) return;
      for (const log of logs) {
        const jobId = (log.args as { jobId: bigint }).jobId;
        parameters.onSessionEnded(jobId, endings[log.eventName as keyof typeof endings]);
      }
      seen = toBlock;
    }
    // onSessionEnded has applied every ending up to a head no older than `askedAt`.
    until = askedAt;
  }

  return {
    async start() {
      since = now();
      seen = await publicClient.getBlockNumber({ cacheTime: 0 });
      timer = setInterval(() => {
        if (polling) return;
        polling = true;
        poll()
          .then(() => {
            if (failing) common.logger.info("settlement watch resumed");
            failing = false;
          })
          .catch((error: unknown) => {
            // Until it resumes, a cached session is trusted for limits.sessionCacheMs after the last round at most.
            if (!failing) common.logger.warn("cannot watch settlements; retrying", { error });
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
