import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { createGroupCommit } from "./groupCommit.ts";

/** A WAL database with one table, a second connection to look at what is committed, and a group commit flushed by hand. */
function setUp() {
  const path = join(mkdtempSync(join(tmpdir(), "host-group-")), "group.sqlite");
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
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
  const settled = <T>(promise: Promise<T>) => {
    const state: { value?: T; error?: unknown; done: boolean } = { done: false };
    promise.then(
      (value) => Object.assign(state, { value, done: true }),
      (error: unknown) => Object.assign(state, { error, done: true }),
    );
    return state;
  };
  return { db, group, groupSizes, add, committed, settled, flushes, flushAll: () => flushes.splice(0).forEach((flush) => flush()) };
}

/** Lets promise callbacks run. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("group commit", () => {
  it("commits the writes issued before a flush in one transaction, and settles none of them before it is committed", async () => {
    const { group, groupSizes, add, committed, settled, flushes, flushAll } = setUp();
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
    const { db, group, add, committed, settled, flushAll } = setUp();
    await Promise.all([add("taken"), Promise.resolve(flushAll())]);
    const before = settled(add("before"));
    // Inserts a row, then fails: its savepoint takes the row back with it.
    const failing = settled(
      group.write(
        db.transaction(() => {
          db.prepare("INSERT INTO rows (value) VALUES ('half-done')").run();
          db.prepare("INSERT INTO rows (value) VALUES ('taken')").run();
        }),
      ),
    );
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
    const { add, committed, settled, flushAll } = setUp();
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

  it("commits a group of writes that may be flushed later without an fsync of its own, and restores synchronous=FULL", async () => {
    const { db, group, committed, flushAll } = setUp();
    const insert = db.prepare("INSERT INTO rows (value) VALUES (?)");
    let seen: unknown;
    const write = group.write(() => {
      seen = db.pragma("synchronous", { simple: true });
      insert.run("lazy");
    }, "flushedLater");
    flushAll();
    await write;
    expect(seen).toBe(1); // NORMAL while it commits
    expect(db.pragma("synchronous", { simple: true })).toBe(2); // FULL again
    expect(committed()).toEqual(["lazy"]);
  });
});
