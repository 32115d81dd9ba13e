import type { OnChainSession } from "@session-jobs/protocol";

export type { OnChainSession };

/** Reads one session from chain. */
export type SessionReader = (jobId: bigint) => Promise<OnChainSession>;

export type SessionCache = ReturnType<typeof createSessionCache>;

/**
 * Caches sessions read from chain. Terms fixed at creation (host, signer, price, deposit,
 * interval, model) never change; status and proven tokens do, so an entry older than `maxAgeMs`
 * is read again, and callers that are about to spend money ask for a fresh read.
 */
export function createSessionCache(parameters: { read: SessionReader; maxAgeMs: number; now?: () => number }) {
  const now = parameters.now ?? Date.now;
  const entries = new Map<bigint, { session: OnChainSession; readAt: number }>();
  const inFlight = new Map<bigint, Promise<OnChainSession>>();

  const refresh = (jobId: bigint): Promise<OnChainSession> => {
    let pending = inFlight.get(jobId);
    if (!pending) {
      pending = parameters
        .read(jobId)
        .then((session) => {
          // A session that does not exist yet may exist a block later: keep only real ones.
          if (session.status !== "none") entries.set(jobId, { session, readAt: now() });
          return session;
        })
        .finally(() => inFlight.delete(jobId));
      inFlight.set(jobId, pending);
    }
    return pending;
  };

  return {
    async get(jobId: bigint, options: { fresh?: boolean } = {}): Promise<OnChainSession> {
      const entry = entries.get(jobId);
      if (entry && !options.fresh && (entry.session.status !== "active" || now() - entry.readAt < parameters.maxAgeMs)) return entry.session;
      return refresh(jobId);
    },
    /** Records what this node learned without reading (its own proof landed, the session ended). */
    update(jobId: bigint, change: Partial<Pick<OnChainSession, "provenTokens" | "status">>): void {
      const entry = entries.get(jobId);
      if (entry) entry.session = { ...entry.session, ...change };
    },
  };
}
