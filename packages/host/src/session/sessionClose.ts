import type { OnChainSession, SessionCache } from "../chain/chainSession.ts";
import { HostError } from "../errors.ts";
import type { Store } from "../store/storeTypes.ts";
import type { AuthenticatedRequest } from "./sessionRequest.ts";
import type { SessionTurns } from "./sessionTurns.ts";

export type CreateSessionCloseParameters = {
  store: Store;
  sessions: SessionCache;
  turns: SessionTurns;
  /** Sessions being closed here; authentication refuses them while they are. */
  closing: Set<bigint>;
  /** The running exchange of each session, stopped when the session ends. */
  running: ReadonlyMap<bigint, AbortController>;
};

/** How a session stops being served: closed through this host, or seen ended on chain. */
export function createSessionClose({ store, sessions, turns, closing, running }: CreateSessionCloseParameters) {
  return {
    /**
     * The chain says a session ended (its settlement block was seen): nothing more is served for
     * it, and an exchange still running is stopped.
     */
    async sessionEnded(jobId: bigint, status: OnChainSession["status"]): Promise<void> {
      sessions.update(jobId, { status });
      running.get(jobId)?.abort(new HostError("session_not_active", `session ${jobId} was ${status} on chain while this answer ran`));
      await store.markClosed(jobId);
    },

    /** Takes the session's turn to close it; new work is refused from here on. */
    async beginClose(request: AuthenticatedRequest): Promise<{ release(): void; abandon(): void }> {
      const release = await turns.acquire(request.jobId);
      try {
        await turns.claim(request, { consume: true });
        closing.add(request.jobId);
      } catch (error) {
        release();
        throw error;
      }
      return {
        release,
        /** The close failed before anything settled: the session may be served again. */
        abandon: () => closing.delete(request.jobId),
      };
    },
  };
}
