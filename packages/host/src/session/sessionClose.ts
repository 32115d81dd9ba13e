import type { OnChainSession, SessionCache } from "../chain/chainSession.ts";
import { HostError } from "../errors.ts";
import type { Store } from "../store/storeTypes.ts";
import type { AuthenticatedRequest } from "./sessionRequest.ts";
import type { SessionTurns } from "./sessionTurns.ts";

export type CreateSessionCloseParameters = {
  store: Store;
  sessions: SessionCache;
  turns: SessionTurns;
  /**
   * How long a close holds its session against new work in every process (ms), unless it settles
   * or fails first: long enough for the close's wait for its transaction; short enough that a
   * closer that dies before sending it does not strand the session. Counted on the store's clock
   * (PostgreSQL: the database's), so that processes on machines whose clocks disagree agree on it.
   */
  closingLeaseMs: number;
  /** The running exchange of each session, stopped when the session ends. */
  running: ReadonlyMap<bigint, AbortController>;
};

/** How a session stops being served: closed through this host, or seen ended on chain. */
export function createSessionClose({ store, sessions, turns, closingLeaseMs, running }: CreateSessionCloseParameters) {
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

    /** Takes the session's turn to close it; new work is refused from here on, by every process sharing the store. */
    async beginClose(request: AuthenticatedRequest): Promise<{ release(): void; abandon(): Promise<void> }> {
      const release = await turns.acquire(request.jobId);
      try {
        await turns.claim(request, { consume: true });
        await store.markClosing(request.jobId, closingLeaseMs);
      } catch (error) {
        release();
        throw error;
      }
      return {
        release,
        /** The close failed before anything settled: the session may be served again. */
        abandon: async () => {
          await store.clearClosing(request.jobId);
        },
      };
    },
  };
}
