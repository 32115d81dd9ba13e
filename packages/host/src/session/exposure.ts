import type { OnChainSession } from "../chain/chainSession.ts";
import type { HostConfig } from "../config/config.ts";

/** The host's own bound on what a session may owe it unsigned (docs/failure-model.md). */
export type ExposurePolicy = {
  /** Why the host refuses a session's terms, or undefined when it serves them. */
  refusal(session: Pick<OnChainSession, "jobId" | "checkpointInterval">): string | undefined;
  /** Unsigned tokens past which new work is refused (and signed tokens past which a proof is due). */
  unsignedLimit(checkpointInterval: number): number;
};

/**
 * The exposure policy of `limits.maxCheckpointInterval` and `limits.maxUnsignedTokens`. It holds
 * whatever the chain allowed at creation: a session opened before the host lowered its limit, or
 * on a deployment without on-chain terms, is cut off at the host's limit, not at its own interval.
 */
export function createExposurePolicy(limits: Pick<HostConfig["limits"], "maxCheckpointInterval" | "maxUnsignedTokens">): ExposurePolicy {
  const cap = Math.min(limits.maxCheckpointInterval, limits.maxUnsignedTokens ?? Number.POSITIVE_INFINITY);
  return {
    refusal(session) {
      if (session.checkpointInterval > BigInt(limits.maxCheckpointInterval))
        return `session ${session.jobId} checkpoints every ${session.checkpointInterval} tokens; this host serves intervals of at most ${limits.maxCheckpointInterval} (GET /v1/host)`;
      return undefined;
    },
    unsignedLimit: (checkpointInterval) => Math.min(checkpointInterval, cap),
  };
}
