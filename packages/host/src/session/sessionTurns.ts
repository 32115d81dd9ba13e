import { StorageUnavailableError, storageUnavailable } from "../errors.ts";
import { createKeyedMutex } from "../mutex.ts";
import type { Release, SessionState, Store } from "../store/storeTypes.ts";
import type { ExposurePolicy } from "./exposure.ts";
import type { Refuse } from "./refusal.ts";
import type { AuthenticatedRequest } from "./sessionRequest.ts";

export type CreateSessionTurnsParameters = {
  store: Store;
  /** The host's own limit on unsigned tokens and the session terms it serves (judged when a session is first seen). */
  exposure: ExposurePolicy;
  refuse: Refuse;
};

/**
 * Whose turn it is in a session: one exchange, close or sync at a time (first in this process, in
 * arrival order, then across processes sharing the store), and each sequence used once.
 */
export function createSessionTurns({ store, exposure, refuse }: CreateSessionTurnsParameters) {
  const mutex = createKeyedMutex<bigint>();
  /** Adds the lock other processes respect to the turn held in this process (`release`); gives that back if the lock is not taken. */
  const shared = async (jobId: bigint, release: () => void, lock: () => Promise<Release | undefined>): Promise<Release | undefined> => {
    try {
      const releaseShared = await lock();
      if (!releaseShared) {
        release();
        return undefined;
      }
      return Object.assign(
        () => {
          releaseShared();
          release();
        },
        { held: releaseShared.held },
      );
    } catch (error) {
      release();
      // The lock's own refusal already says "storage unavailable … retry later": its reason is kept, not its sentence.
      const why = error instanceof StorageUnavailableError ? error.why : (error as Error).message;
      throw storageUnavailable(`cannot take session ${jobId}'s turn: ${why}`, error);
    }
  };
  return {
    /** Resolves with a release function once the caller holds the session's turn; `held()` while other processes still respect it. */
    async acquire(jobId: bigint): Promise<Release> {
      return (await shared(jobId, await mutex.acquire(jobId), () => store.locks.session(jobId)))!;
    },

    /** The session's turn if nobody holds or waits for it now, here or in another process, else `undefined`: for a caller that must not wait for it. */
    async tryAcquire(jobId: bigint): Promise<Release | undefined> {
      const release = mutex.tryAcquire(jobId);
      return release && shared(jobId, release, () => store.locks.trySession(jobId));
    },

    /**
     * Refuses a replayed sequence; with `consume`, takes the sequence for a request that cannot be
     * refused any more. `stored` is the session's row if the caller has read it under this turn
     * (only this turn moves its sequence, count and transcript); otherwise it is read here.
     */
    async claim(request: AuthenticatedRequest, options: { consume: boolean; stored?: { state: SessionState | undefined } }) {
      store.assertWritable();
      const stored = options.stored ? options.stored.state : await store.session(request.jobId);
      // A session is judged on its terms once, when first seen, before anything is generated for it.
      if (!stored) {
        const refusal = exposure.refusal(request.session);
        if (refusal) refuse("session_terms_refused", refusal);
      }
      // The row is created on first contact and kept in step with the chain's interval; one that is already is not written.
      const checkpointInterval = Number(request.session.checkpointInterval);
      const state = stored?.checkpointInterval === checkpointInterval ? stored : await store.ensureSession(request.jobId, checkpointInterval);
      if (request.sequence <= state.lastSequence) refuse("session_replayed", `sequence ${request.sequence} is not above ${state.lastSequence}`);
      if (options.consume) await store.claimSequence(request.jobId, request.sequence);
      return state;
    },
  };
}

export type SessionTurns = ReturnType<typeof createSessionTurns>;
