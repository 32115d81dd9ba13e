import type { OnChainSession } from "@session-jobs/protocol";
import { HostError } from "../errors.ts";

export type { OnChainSession };

/** Reads one session from chain. */
export type SessionReader = (jobId: bigint) => Promise<OnChainSession>;

export type SessionCache = ReturnType<typeof createSessionCache>;

/**
 * Whether the chain says the session ended (completed, timed out, abandoned). `none` is not an end
 * for a session this host served: the node read is behind the one that created it (another node
 * behind a balancer) and cannot tell; closing the session on its say-so would leave its receipts
 * unproven.
 */
export function endedOnChain(session: Pick<OnChainSession, "status">): boolean {
  return session.status !== "active" && session.status !== "none";
}

/** The refusal for a session the node read does not show, retryable: another read may come from a node that caught up. */
export function unknownToNode(jobId: bigint): HostError {
  return new HostError("chain_unavailable", `the chain read does not show session ${jobId} (a node behind?); retry later`);
}

/**
 * What the settlement watcher has reported: every session that ended in a block after the head at
 * `since` (ms, when the watch began), up to the head the chain had at `until` (ms, when the newest
 * fully read head was asked for). Undefined until a first round has completed.
 */
export type ReportedEndings = () => { since: number; until: number } | undefined;

type Change = Partial<Pick<OnChainSession, "provenTokens" | "status">>;

/**
 * Caches sessions read from chain, or derived from their creation logs by the settlement watcher
 * ({@link created}). Terms fixed at creation (host, signer, price, deposit,
 * interval, model, duration) never change; only status (every ending emits an event the
 * settlement watcher reports, applied here through {@link update}) and proven tokens (moved by the
 * host's own proofs, also applied through `update`) do. So an active entry is as fresh as the
 * later of its read and the watcher's last complete round (`reportedEndings`), and is read again
 * only once that is older than `maxAgeMs`: never on the request path while the watcher keeps up,
 * and within `maxAgeMs` of its last round when it cannot read the chain. Callers about to spend
 * money ask for a fresh read.
 */
export function createSessionCache(parameters: { read: SessionReader; maxAgeMs: number; now?: () => number; reportedEndings?: ReportedEndings }) {
  const now = parameters.now ?? Date.now;
  const entries = new Map<bigint, { session: OnChainSession; readAt: number }>();
  const inFlight = new Map<bigint, Promise<OnChainSession>>();
  /** What {@link update} learned while a read was on its way: newer than what that read returns. */
  const learnedWhileReading = new Map<bigint, Change>();

  const apply = (session: OnChainSession, change: Change): OnChainSession => ({
    ...session,
    ...(change.status !== undefined && { status: change.status }),
    ...(change.provenTokens !== undefined && change.provenTokens > session.provenTokens && { provenTokens: change.provenTokens }),
  });

  const refresh = (jobId: bigint): Promise<OnChainSession> => {
    let pending = inFlight.get(jobId);
    if (!pending) {
      // Fresh as of when it was asked for: the chain may have moved before the answer came.
      const askedAt = now();
      learnedWhileReading.set(jobId, {});
      pending = parameters
        .read(jobId)
        .then((read) => {
          const session = apply(read, learnedWhileReading.get(jobId) ?? {});
          // A session that does not exist yet may exist a block later: keep only real ones.
          if (session.status !== "none") entries.set(jobId, { session, readAt: askedAt });
          return session;
        })
        .finally(() => {
          inFlight.delete(jobId);
          learnedWhileReading.delete(jobId);
        });
      inFlight.set(jobId, pending);
    }
    return pending;
  };

  /** Whether an active entry still stands: read, or covered by a complete round of the watcher begun after it was read, within `maxAgeMs`. */
  const current = (readAt: number): boolean => {
    const reported = parameters.reportedEndings?.();
    const freshAt = reported && readAt >= reported.since ? Math.max(readAt, reported.until) : readAt;
    return now() - freshAt < parameters.maxAgeMs;
  };

  return {
    async get(jobId: bigint, options: { fresh?: boolean } = {}): Promise<OnChainSession> {
      const entry = entries.get(jobId);
      if (entry && !options.fresh && (entry.session.status !== "active" || current(entry.readAt))) return entry.session;
      return refresh(jobId);
    },
    /** The session's terms (fixed at creation: host, signer, price, deposit, interval, model, duration), from any entry however old; read when none. */
    async terms(jobId: bigint): Promise<OnChainSession> {
      return entries.get(jobId)?.session ?? refresh(jobId);
    },
    /**
     * Records a session the settlement watcher saw created (sessionCreations.ts: the terms a read
     * gives), as fresh as the round that saw it (`seenAt`), so that its first request reads nothing.
     * An entry or a read on its way knows at least as much (this node's proofs, an ending): it stands.
     */
    created(session: OnChainSession, seenAt: number): void {
      if (!entries.has(session.jobId) && !inFlight.has(session.jobId)) entries.set(session.jobId, { session, readAt: seenAt });
    },
    /** Records what this node learned without reading (its own proof landed, the session ended), also over a read on its way. */
    update(jobId: bigint, change: Change): void {
      const entry = entries.get(jobId);
      if (entry) entry.session = apply(entry.session, change);
      const learned = learnedWhileReading.get(jobId);
      if (learned) learnedWhileReading.set(jobId, { ...learned, ...change });
    },
  };
}
