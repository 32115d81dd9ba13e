import type { SessionStatus } from "@session-jobs/sdk";
import { describe, expect, it } from "vitest";
import { createFinalRows } from "./finalRows.ts";
import { reorgWindow } from "./logFollower.ts";

type Row = { jobId: bigint; status: SessionStatus; readAt: bigint };

describe("createFinalRows", () => {
  it("reads an open session at every round, an ended one until its end is reorgWindow deep, then never again", async () => {
    const rows = createFinalRows<Row>();
    const status = new Map<bigint, SessionStatus>([
      [1n, "active"],
      [2n, "active"],
    ]);
    const reads: bigint[] = [];
    const round = (head: bigint) =>
      rows.read(head, [2n, 1n], async (jobId) => {
        reads.push(jobId);
        return { jobId, status: status.get(jobId)!, readAt: head };
      });

    await round(100n);
    status.set(1n, "completed");
    await round(101n);
    expect(reads).toEqual([2n, 1n, 2n, 1n]);
    reads.length = 0;
    // Seen ended at 101: read again while a reorg could still undo the ending.
    for (let head = 102n; head < 101n + reorgWindow; head++) await round(head);
    expect(reads.filter((jobId) => jobId === 1n)).toHaveLength(Number(reorgWindow) - 1);
    reads.length = 0;
    const [open, final] = await round(101n + reorgWindow);
    expect(reads).toEqual([2n]);
    expect(open).toMatchObject({ jobId: 2n, readAt: 101n + reorgWindow });
    expect(final).toMatchObject({ jobId: 1n, status: "completed", readAt: 100n + reorgWindow });
  });

  it("keeps the newer read when a slower round for an older head ends last", async () => {
    const rows = createFinalRows<Row>();
    let release: () => void = () => undefined;
    const slow = rows.read(5n, [1n], async (jobId) => {
      await new Promise<void>((resolve) => (release = resolve));
      return { jobId, status: "active", readAt: 5n };
    });
    await rows.read(6n, [1n], async (jobId) => ({ jobId, status: "completed", readAt: 6n }));
    release();
    await slow;
    // Ended at 6 as the newer round saw, not reset to open by the older one: final once 6 is deep.
    const reads: bigint[] = [];
    const [row] = await rows.read(6n + reorgWindow, [1n], async (jobId) => {
      reads.push(jobId);
      return { jobId, status: "completed", readAt: 6n + reorgWindow };
    });
    expect(reads).toEqual([]);
    expect(row).toMatchObject({ status: "completed", readAt: 6n });
  });
});
