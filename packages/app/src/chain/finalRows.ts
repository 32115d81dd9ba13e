import type { SessionStatus } from "@session-jobs/sdk";
import { reorgWindow } from "./logFollower.ts";

/** Sessions read and shown on one page (the host dashboard's, My sessions'). */
export const sessionsPerPage = 20;

/**
 * The rows of the sessions on the page shown, each read by the caller's `readRow` (the chain's
 * `getSession`, one `eth_call`, and whatever else the page shows of a session). A session that ended is final once its ending is {@link reorgWindow}
 * blocks deep: its row is kept and never read again, so a round reads only the open sessions of
 * one page.
 */
export function createFinalRows<Row extends { status: SessionStatus }>() {
  /** Each row read, with the head it was read at and the first head at which it was seen ended. */
  const rows = new Map<bigint, { row: Row; readAt: bigint; endedAt: bigint | undefined }>();
  const isFinal = (kept: { endedAt: bigint | undefined }, head: bigint) => kept.endedAt !== undefined && kept.endedAt + reorgWindow <= head;

  return {
    /** The rows of `jobIds` at `head`: the final ones as kept, the others from `readRow`. */
    read(head: bigint, jobIds: readonly bigint[], readRow: (jobId: bigint) => Promise<Row>): Promise<Row[]> {
      return Promise.all(
        jobIds.map(async (jobId) => {
          const final = rows.get(jobId);
          if (final && isFinal(final, head)) return final.row;
          const row = await readRow(jobId);
          const kept = rows.get(jobId);
          // A slower round for an older head never replaces a newer read.
          if (kept && kept.readAt > head) return row;
          rows.set(jobId, { row, readAt: head, endedAt: row.status === "active" ? undefined : (kept?.endedAt ?? head) });
          return row;
        }),
      );
    },
  };
}

export type FinalRows<Row extends { status: SessionStatus }> = ReturnType<typeof createFinalRows<Row>>;
