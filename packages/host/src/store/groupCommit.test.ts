import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { settled } from "../testUtils/promiseState.ts";
import { createGroupCommit } from "./groupCommit.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

/** A sync that the test completes or fails by hand, one call at a time. */
function heldSyncs() {
  const calls: { resolve: () => void; reject: (error: Error) => void }[] = [];
  let next = 0;
  return {
    sync: () => new Promise<void>((resolve, reject) => calls.push({ resolve, reject })),
    /** Syncs started so far. */
    started: () => calls.length,
    /** Completes the oldest sync not yet completed. */
    complete: () => calls[next++]!.resolve(),
    fail: (error: Error) => calls[next++]!.reject(error),
  };
}

/**
 * A WAL database with one table, a second connection to look at what is committed, and a group
 * commit flushed by hand, whose syncs complete at once unless the test holds them (the real WAL's
 * fdatasync is tested with the store, sqliteStore.test.ts).
 */
function setUp(sync: () => Promise<void> = () => Promise.resolve()) {
  const path = join(tempDir("host-group-"), "group.sqlite");
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.exec(`CREATE TABLE parents (id INTEGER PRIMARY KEY);
           CREATE TABLE rows (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE,
             parent INTEGER REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)`);
  const reader = new Database(path, { readonly: true });
  const flushes: (() => void)[] = [];
  const groupSizes: number[] = [];
  const group = createGroupCommit({
    db,
    commitFailed: (error) => new Error(`commit failed: ${(error as Error).message}`),
    sync,
    syncFailed: (error) => new Error(`sync failed: ${(error as Error).message}`),
    schedule: (flush) => flushes.push(flush),
    onCommit: (writes) => groupSizes.push(writes),
  });
  const insert = db.prepare<[string, number | null]>("INSERT INTO rows (value, parent) VALUES (?, ?)");
  const add = (value: string, parent: number | null = null) => group.write(db.transaction(() => Number(insert.run(value, parent).lastInsertRowid)));
  const committed = () =>
    reader
      .prepare<[], { value: string }>("SELECT value FROM rows ORDER BY id")
      .all()
      .map((row) => row.value);
  const addLazy = (value: string) => group.write(() => Number(insert.run(value, null).lastInsertRowid), "flushedLater");
  /** Inserts a row, then fails on the unique value 'taken': its savepoint must take the first row back with it. */
  const halfDoneThenTaken = db.transaction(() => {
    insert.run("half-done", null);
    insert.run("taken", null);
  });
  /** A write that may be flushed later whose deferred foreign key fails at its COMMIT. */
  const addLazyOrphan = (value: string) => group.write(() => Number(insert.run(value, 42).lastInsertRowid), "flushedLater");
  return {
    db,
    group,
    groupSizes,
    add,
    addLazy,
    addLazyOrphan,
    halfDoneThenTaken,
    committed,
    flushes,
    flushAll: () => flushes.splice(0).forEach((flush) => flush()),
  };
}

/** Lets promise callbacks run. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("group commit", () => {
  it("commits the writes issued before a flush in one transaction, and settles none of them before it is committed", async () => {
    const { group, groupSizes, add, committed, flushes, flushAll } = setUp();
    const writes = ["a", "b", "c"].map((value) => settled(add(value)));
    expect(flushes).toHaveLength(1); // one flush scheduled for the whole group
    await tick();
    expect(writes.some((write) => write.done)).toBe(false);
    expect(committed()).toEqual([]); // nothing on disk, nothing acknowledged
    flushAll();
    await tick();
    expect(writes.map((write) => write.value)).toEqual([1, 2, 3]);
    expect(committed()).toEqual(["a", "b", "c"]);
    expect(group.stats).toEqual({ commits: 1, writes: 3 });
    expect(groupSizes).toEqual([3]);
  });

  it("a write that fails rejects only its caller with its own error; the others of its group are committed", async () => {
    const { group, add, halfDoneThenTaken, committed, flushAll } = setUp();
    await Promise.all([add("taken"), Promise.resolve(flushAll())]);
    const before = settled(add("before"));
    // Inserts a row, then fails: its savepoint takes the row back with it.
    const failing = settled(group.write(halfDoneThenTaken));
    const after = settled(add("after"));
    flushAll();
    await tick();
    expect(before).toMatchObject({ done: true, value: 2 });
    expect(after).toEqual({ done: true, value: 3 });
    expect(failing.error).toMatchObject({ code: "SQLITE_CONSTRAINT_UNIQUE" });
    expect(committed()).toEqual(["taken", "before", "after"]);
    expect(group.stats.commits).toBe(2);
  });

  it("a commit that fails rejects every write of the group through commitFailed, and commits nothing", async () => {
    const { add, committed, flushAll } = setUp();
    // A deferred foreign key is only checked at COMMIT: this group cannot commit.
    const writes = [settled(add("a")), settled(add("orphan", 42)), settled(add("c"))];
    flushAll();
    await tick();
    for (const write of writes) expect(String(write.error)).toMatch(/^Error: commit failed: FOREIGN KEY constraint failed/);
    expect(committed()).toEqual([]);
    // The next group starts clean.
    const next = settled(add("next"));
    flushAll();
    await tick();
    expect(next.value).toBeGreaterThan(0);
    expect(committed()).toEqual(["next"]);
  });

  it("commits a write that may be flushed later at once, in a transaction of its own, and resolves it at its COMMIT without waiting for the group or a sync", async () => {
    const syncs = heldSyncs();
    const { group, groupSizes, add, addLazy, committed, flushes, flushAll } = setUp(syncs.sync);
    const durable = settled(add("durable"));
    const lazy = settled(addLazy("lazy"));
    await Promise.resolve(); // promise callbacks only: no turn of the event loop, no flush
    expect(lazy).toEqual({ done: true, value: 1 });
    expect(committed()).toEqual(["lazy"]); // the durable write still waits for its group
    expect(flushes).toHaveLength(1); // the durable write's group, and nothing scheduled for the lazy one
    expect(groupSizes).toEqual([1]);
    expect(syncs.started()).toBe(0);
    flushAll();
    await tick();
    expect(committed()).toEqual(["lazy", "durable"]);
    expect(durable.done).toBe(false); // waits for its sync, which covers the lazy write's frames too
    syncs.complete();
    await tick();
    expect(durable).toEqual({ done: true, value: 2 });
    expect(group.stats).toEqual({ commits: 2, writes: 2 });
    expect(group.syncStats.syncs).toBe(1);
  });

  it("a write that may be flushed later and fails rejects alone, with its own error, and takes back what it wrote; the pending group is untouched", async () => {
    const { db, group, add, halfDoneThenTaken, committed, flushAll } = setUp();
    await Promise.all([add("taken"), Promise.resolve(flushAll())]);
    const pending = settled(add("pending"));
    const failing = settled(group.write(halfDoneThenTaken, "flushedLater"));
    await Promise.resolve();
    expect(failing.error).toMatchObject({ code: "SQLITE_CONSTRAINT_UNIQUE" });
    expect(db.inTransaction).toBe(false);
    flushAll();
    await tick();
    expect(pending.done).toBe(true);
    expect(committed()).toEqual(["taken", "pending"]);
  });

  it("a write that may be flushed later and cannot commit is rejected through commitFailed, and commits nothing", async () => {
    const { add, addLazyOrphan, committed, flushAll } = setUp();
    const pending = settled(add("pending"));
    const orphan = settled(addLazyOrphan("orphan"));
    await Promise.resolve();
    expect(String(orphan.error)).toMatch(/^Error: commit failed: FOREIGN KEY constraint failed/);
    flushAll();
    await tick();
    expect(pending.done).toBe(true);
    expect(committed()).toEqual(["pending"]);
  });

  it("acknowledges no durable write before a sync that started after its COMMIT returned", async () => {
    const syncs = heldSyncs();
    const { group, add, addLazy, committed, flushAll } = setUp(syncs.sync);
    const writes = [settled(add("a")), settled(addLazy("lazy")), settled(add("b"))];
    flushAll();
    await tick();
    expect(committed()).toEqual(["lazy", "a", "b"]); // committed (the lazy write at once, alone): in the WAL, not yet on the disk
    expect(syncs.started()).toBe(1);
    expect(writes.map((write) => write.done)).toEqual([false, true, false]);
    syncs.complete();
    await tick();
    expect(writes.map((write) => write.value)).toEqual([2, 1, 3]);
    expect(group.syncStats.syncs).toBe(1);
  });

  it("a group committed while a sync is in flight waits for the next one, which covers every group committed meanwhile", async () => {
    const syncs = heldSyncs();
    const { group, add, flushAll } = setUp(syncs.sync);
    const first = settled(add("first"));
    flushAll(); // commits, starts sync 1
    const second = settled(add("second"));
    flushAll(); // commits while sync 1 is in flight: it may have begun before these frames were written
    const third = settled(add("third"));
    flushAll();
    await tick();
    expect(syncs.started()).toBe(1);
    syncs.complete();
    await tick();
    expect(first.done).toBe(true);
    expect([second.done, third.done]).toEqual([false, false]);
    expect(syncs.started()).toBe(2); // one sync for both groups committed meanwhile
    syncs.complete();
    await tick();
    expect([second.value, third.value]).toEqual([2, 3]);
    expect(group.stats.commits).toBe(3);
    expect(group.syncStats.syncs).toBe(2);
    await expect(group.synced()).resolves.toBeUndefined(); // nothing unsynced: no sync more
    expect(syncs.started()).toBe(2);
  });

  it("a failed sync rejects every caller not yet synced with the storage fault, is never retried, and nothing is committed after it", async () => {
    const syncs = heldSyncs();
    const { group, add, addLazy, committed, flushAll } = setUp(syncs.sync);
    const synced = settled(add("synced"));
    flushAll();
    syncs.complete();
    await tick();
    const inFlight = settled(add("in-flight"));
    flushAll();
    const waiting = settled(add("waiting"));
    const lazy = settled(addLazy("lazy"));
    flushAll();
    syncs.fail(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    await tick();
    expect(synced.value).toBe(1);
    expect(lazy).toEqual({ done: true, value: 3 }); // committed at once and resolved at its COMMIT, before the sync failed
    for (const write of [inFlight, waiting]) expect(String(write.error)).toBe("Error: sync failed: EIO: i/o error, fdatasync");
    // The store stays faulted: later writes are refused with the same fault, uncommitted; no sync is tried again.
    const later = settled(add("later"));
    const laterLazy = settled(addLazy("later-lazy"));
    flushAll();
    await tick();
    expect(later.error).toBe(inFlight.error);
    expect(laterLazy.error).toBe(inFlight.error);
    await expect(group.synced()).rejects.toBe(inFlight.error);
    expect(committed()).toEqual(["synced", "in-flight", "lazy", "waiting"]);
    expect(syncs.started()).toBe(2);
  });

  it("after close(), a write that may be flushed later is refused like any other, and not committed", async () => {
    const { group, add, addLazy, committed } = setUp();
    const pending = settled(add("pending"));
    const closing = settled(group.close(new Error("closed")));
    const lazy = settled(addLazy("lazy"));
    await tick();
    expect(pending.done).toBe(true);
    expect(closing.done).toBe(true);
    expect(String(lazy.error)).toBe("Error: closed");
    expect(committed()).toEqual(["pending"]);
  });

  it("synced() waits for a sync when a commit is unsynced (a write that may be flushed later, too), and resolves at once when none is", async () => {
    const syncs = heldSyncs();
    const { group, addLazy, flushAll } = setUp(syncs.sync);
    await expect(group.synced()).resolves.toBeUndefined();
    expect(syncs.started()).toBe(0);
    await Promise.all([addLazy("lazy"), Promise.resolve(flushAll())]);
    const barrier = settled(group.synced());
    await tick();
    expect(barrier.done).toBe(false);
    expect(syncs.started()).toBe(1);
    syncs.complete();
    await tick();
    expect(barrier.done).toBe(true);
  });
});
