import type { Common } from "../common.ts";
import type { Store } from "../store/store.ts";

/** The highest count a transaction still on its way (signed or sent) proves for this session, or undefined when none is. */
export function pendingCoverage(store: Store, jobId: bigint): number | undefined {
  const pending = store.submissionsOfJob(jobId).filter((submission) => submission.status === "signed" || submission.status === "sent");
  if (pending.length === 0) return undefined;
  return Math.max(...pending.flatMap((submission) => submission.entries.filter((entry) => entry.jobId === jobId).map((entry) => entry.cumulativeTokens)));
}

/** Sets the signed-but-unproven tokens gauge from the store. */
export function reportUnproven(common: Common, store: Store): void {
  common.metrics.tokensSignedUnproven.set(store.unprovenSignedTokens());
}
