import { randomUUID } from "node:crypto";
import type { OnChainSession, SessionCache } from "../chain/chainSession.ts";
import { HostError, storageUnavailable } from "../errors.ts";
import type { Release, Store } from "../store/storeTypes.ts";
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

/** How often a failed close's mark is asked to be cleared again while the store refuses (ms). */
const clearRetryMs = 1_000;

/** How a session stops being served: closed through this host, or seen ended on chain. */
export function createSessionClose({ store, sessions, turns, closingLeaseMs, running }: CreateSessionCloseParameters) {
  /**
   * Clears a failed close's mark, unless a settlement of the session was signed before it failed
   * (a store write failing after the transaction was sent, or a send to be retried): that one may
   * yet be mined, and the session must stay refused until it is or the lease ends. Only while
   * `turn` is held: one lost with its lock connection may be another process's now, and the mark
   * that process's close.
   */
  async function clearUnlessSettling(jobId: bigint, turn: Release, lease: string): Promise<void> {
    const settling = (await store.submissionsOfJob(jobId)).some(
      (submission) => (submission.kind === "final" || submission.kind === "complete") && submission.status !== "dropped" && submission.status !== "reverted",
    );
    if (settling) return;
    if (!turn.held()) throw storageUnavailable(`session ${jobId}'s turn was lost with the lock connection`);
    await store.clearClosing(jobId, lease);
  }

  /**
   * Clears a failed close's mark once the store takes writes again, asking until `deadline`
   * (performance.now()). Under the session's turn, which every process sharing the store respects: a
   * close that marked the session since holds it until it settles or fails, so a mark found here is
   * this failed close's, a settled close's (kept by the settling check) or a dead closer's.
   */
  function clearLater(jobId: bigint, lease: string, deadline: number): void {
    if (performance.now() + clearRetryMs >= deadline) return;
    setTimeout(() => {
      void (async () => {
        try {
          const release = await turns.acquire(jobId);
          try {
            await clearUnlessSettling(jobId, release, lease);
          } finally {
            release();
          }
        } catch {
          clearLater(jobId, lease, deadline);
        }
      })();
    }, clearRetryMs).unref();
  }

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
    async beginClose(request: AuthenticatedRequest): Promise<{ release: Release; abandon(): Promise<void> }> {
      const release = await turns.acquire(request.jobId);
      try {
        await turns.claim(request, { consume: true });
      } catch (error) {
        release();
        throw error;
      }
      // A mark left by a failed close is asked to be cleared for at most half its lease (it ends by itself after).
      const clearBy = performance.now() + closingLeaseMs / 2;
      // This close's own mark, the only one it may clear: another process may take the close over if this one's turn goes.
      const lease = randomUUID();
      try {
        await store.markClosing(request.jobId, closingLeaseMs, lease);
      } catch (error) {
        // A mark whose commit went unanswered (PostgreSQL going down) may hold: cleared as a failed close's is.
        clearLater(request.jobId, lease, clearBy);
        release();
        throw error;
      }
      return {
        release,
        /**
         * The close failed: unless it signed a settlement, the session may be served again. A store that
         * cannot clear the mark now (PostgreSQL restarting) is asked again every second, under the
         * session's turn, for the first half of its lease, or the session, and every retried close
         * of it, would be refused for the whole lease. So is one whose turn went with the lock
         * connection meanwhile: the clear then waits for the turn, taken anew.
         */
        abandon: async () => {
          try {
            await clearUnlessSettling(request.jobId, release, lease);
          } catch (error) {
            clearLater(request.jobId, lease, clearBy);
            throw error;
          }
        },
      };
    },
  };
}
