import type { Store } from "../store/storeTypes.ts";

/** The highest count a transaction still on its way (signed or sent) proves for this session, or undefined when none is. */
export async function pendingCoverage(store: Store, jobId: bigint): Promise<number | undefined> {
  const pending = (await store.submissionsOfJob(jobId)).filter((submission) => submission.status === "signed" || submission.status === "sent");
  if (pending.length === 0) return undefined;
  return Math.max(...pending.flatMap((submission) => submission.entries.filter((entry) => entry.jobId === jobId).map((entry) => entry.cumulativeTokens)));
}
