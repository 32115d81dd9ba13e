import type Database from "better-sqlite3";

/** How a write must reach the disk before its caller hears of it. */
export type WriteDurability =
  /** Committed with an fsync (`synchronous=FULL`): survives a power cut. */
  | "durable"
  /** Committed to the WAL without an fsync of its own (`synchronous=NORMAL`): survives the process, and the next durable commit flushes it. */
  | "flushedLater";

type PendingWrite = {
  run: () => unknown;
  durability: WriteDurability;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
};

export type GroupCommitStats = {
  /** Transactions committed (each one fsync when any write in it was durable). */
  commits: number;
  /** Writes committed or refused in them. */
  writes: number;
};

export type GroupCommit = ReturnType<typeof createGroupCommit>;

/**
 * Commits the writes issued within one turn of the event loop together: one transaction, one
 * fsync, however many callers. Each write runs in a savepoint of its own, in the order issued, so
 * one that throws is rolled back alone and rejects only its caller, with its own error; every
 * caller's promise settles only after the group's COMMIT returned (nothing is acknowledged before
 * it is on disk). A COMMIT that fails, or an error that makes SQLite roll the whole transaction
 * back (disk full, I/O error), rejects every write of the group through `commitFailed`.
 *
 * better-sqlite3 is synchronous, so a commit holds the event loop for its fsync either way; a
 * group makes that one fsync per turn instead of one per write. Under load more writes arrive per
 * turn, so groups grow with the load and the cost per write falls.
 */
export function createGroupCommit(parameters: {
  db: Database.Database;
  /** Turns a failed COMMIT into each caller's error (the store's storage fault). */
  commitFailed: (error: unknown) => unknown;
  /** Runs the flush once the current turn's writes are in. Default `setImmediate` (after the poll phase's I/O callbacks). */
  schedule?: (flush: () => void) => void;
  /** Told of each committed group's number of writes (metrics). */
  onCommit?: (writes: number) => void;
}) {
  const { db } = parameters;
  const schedule = parameters.schedule ?? ((flush) => void setImmediate(flush));
  // SQLite applies `PRAGMA synchronous` when the statement is compiled, so it cannot be a prepared statement run again.
  const synchronous = (level: "NORMAL" | "FULL") => db.pragma(`synchronous = ${level}`);
  const stats: GroupCommitStats = { commits: 0, writes: 0 };
  let pending: PendingWrite[] = [];

  /** One transaction around the group; each write's outcome is kept, its savepoint taken by the store's own `db.transaction`. */
  const commitGroup = db.transaction((writes: PendingWrite[]) =>
    writes.map((write) => {
      try {
        return { ok: true as const, value: write.run() };
      } catch (error) {
        // SQLite rolls the whole transaction back on some errors (SQLITE_FULL, SQLITE_IOERR): then nothing of the group stands.
        if (!db.inTransaction) throw error;
        return { ok: false as const, error };
      }
    }),
  );

  function flush(): void {
    const writes = pending;
    pending = [];
    if (writes.length === 0) return;
    const lazy = writes.every((write) => write.durability === "flushedLater");
    if (lazy) synchronous("NORMAL");
    let outcomes: ReturnType<typeof commitGroup>;
    try {
      outcomes = commitGroup(writes);
    } catch (error) {
      for (const write of writes) write.reject(parameters.commitFailed(error));
      return;
    } finally {
      if (lazy) synchronous("FULL");
      stats.writes += writes.length;
    }
    stats.commits += 1;
    parameters.onCommit?.(writes.length);
    writes.forEach((write, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.error);
    });
  }

  return {
    /** Runs `run` in the next group's transaction; resolves with its result once that group is committed. */
    write<R>(run: () => R, durability: WriteDurability = "durable"): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        if (pending.length === 0) schedule(flush);
        pending.push({ run, durability, resolve: resolve as (value: unknown) => void, reject });
      });
    },
    /** Commits what is pending now (before the database closes). */
    flush,
    /** Commits and writes so far (tests, metrics). */
    stats: stats as Readonly<GroupCommitStats>,
  };
}
