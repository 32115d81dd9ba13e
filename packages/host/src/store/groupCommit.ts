import type Database from "better-sqlite3";
import { createSyncQueue } from "./syncQueue.ts";

/** How a write must reach the disk before its caller hears of it. */
export type WriteDurability =
  /** Committed, then synced to the disk before its caller hears of it: survives a power cut. */
  | "durable"
  /**
   * Committed to the WAL without waiting for a sync: survives the process, and the next sync (the
   * next durable write's) flushes it. Committed at once, in a transaction of its own: its caller
   * (a request about to be forwarded) waits for nothing else.
   */
  | "flushedLater";

type PendingWrite = {
  run: () => unknown;
  durability: WriteDurability;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
};

export type GroupCommitStats = {
  /** Transactions committed. */
  commits: number;
  /** Writes committed or refused in them. */
  writes: number;
};

export type GroupCommit = ReturnType<typeof createGroupCommit>;

/**
 * Commits the durable writes issued within one turn of the event loop together: one transaction,
 * however many callers. Each write runs in a savepoint of its own, in the order issued, so one that
 * throws is rolled back alone and rejects only its caller, with its own error. A COMMIT that fails,
 * or an error that makes SQLite roll the whole transaction back (disk full, I/O error), rejects
 * every write of the group through `commitFailed`. A write that may be flushed later is committed
 * at once, as a group of one: its caller waits only for its COMMIT, and in a herd of requests the
 * group's turn would come only after every other request read in the same poll phase was checked
 * (a durable write's caller waits for a sync anyway, which the group shares). So such a write may
 * commit before durable writes issued earlier: its order against them is the caller's to keep
 * (a session's claim, its exchange and its close all run under the session's turn, one after the
 * other), never the order of issue.
 *
 * The database commits with `synchronous=NORMAL` (the WAL append, no fsync), so a COMMIT holds the
 * event loop only for its writes into the page cache. A durable write's caller hears of it only
 * after `sync` (fdatasync of the WAL, in libuv's thread pool, off the loop) returned after its
 * COMMIT: the durability of `synchronous=FULL`, which syncs the WAL at each commit. One sync is in
 * flight at a time and the groups committed meanwhile share the next (store/syncQueue.ts), so
 * under load a sync covers several groups. A write that may be flushed later resolves at its
 * COMMIT. A failed sync rejects every durable caller not yet synced through `syncFailed`, and
 * every write after it is refused with that fault without being committed.
 */
export function createGroupCommit(parameters: {
  db: Database.Database;
  /** Turns a failed COMMIT into each caller's error (the store's storage fault). */
  commitFailed: (error: unknown) => unknown;
  /** Makes everything committed before it was called durable (store/walSync.ts). */
  sync: () => Promise<void>;
  /** Turns a failed sync into each waiting caller's error (the store's storage fault). */
  syncFailed: (error: unknown) => unknown;
  /** Runs the flush once the current turn's writes are in. Default `setImmediate` (after the poll phase's I/O callbacks). */
  schedule?: (flush: () => void) => void;
  /** Told of each committed group's number of writes (metrics). */
  onCommit?: (writes: number) => void;
}) {
  const { db } = parameters;
  const schedule = parameters.schedule ?? ((flush) => void setImmediate(flush));
  const syncs = createSyncQueue({ sync: parameters.sync, syncFailed: parameters.syncFailed });
  const stats: GroupCommitStats = { commits: 0, writes: 0 };
  let pending: PendingWrite[] = [];
  /** Set by {@link close}: why every later write is refused. */
  let closed: { refusal: unknown } | undefined;

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
    if (writes.length > 0) commit(writes);
  }

  function commit(writes: PendingWrite[]): void {
    // After a failed sync nothing written since can be made durable: commit nothing more.
    const failed = syncs.failed();
    if (failed) return writes.forEach((write) => write.reject(failed.fault));
    let outcomes: ReturnType<typeof commitGroup>;
    try {
      outcomes = commitGroup(writes);
    } catch (error) {
      for (const write of writes) write.reject(parameters.commitFailed(error));
      return;
    } finally {
      stats.writes += writes.length;
    }
    stats.commits += 1;
    syncs.committed();
    parameters.onCommit?.(writes.length);
    const durable: { write: PendingWrite; value: unknown }[] = [];
    writes.forEach((write, index) => {
      const outcome = outcomes[index]!;
      if (!outcome.ok) write.reject(outcome.error);
      else if (write.durability === "durable") durable.push({ write, value: outcome.value });
      else write.resolve(outcome.value);
    });
    if (durable.length > 0)
      syncs.synced().then(
        () => durable.forEach(({ write, value }) => write.resolve(value)),
        (fault: unknown) => durable.forEach(({ write }) => write.reject(fault)),
      );
  }

  return {
    /** Runs `run` in the next group's transaction (durable) or at once in its own (flushedLater); resolves with its result once committed (and synced, when durable). */
    write<R>(run: () => R, durability: WriteDurability = "durable"): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        if (closed) return reject(closed.refusal);
        const write = { run, durability, resolve: resolve as (value: unknown) => void, reject };
        if (durability === "flushedLater") return commit([write]);
        if (pending.length === 0) schedule(flush);
        pending.push(write);
      });
    },
    /**
     * Commits what is pending, refuses every later write with `refusal` (uncommitted), and resolves
     * once all that was committed is durable: then no sync is in flight or can start, and the WAL's
     * descriptor and the database may close. Rejects with the fault after a failed sync.
     */
    close(refusal: unknown): Promise<void> {
      flush();
      closed ??= { refusal };
      return syncs.synced();
    },
    /** Resolves once everything committed so far is durable (at once when nothing is unsynced); rejects with the fault after a failed sync. */
    synced: syncs.synced,
    /** Commits and writes so far (tests, metrics). */
    stats: stats as Readonly<GroupCommitStats>,
    /** Syncs started so far (tests, metrics). */
    syncStats: syncs.stats,
  };
}
