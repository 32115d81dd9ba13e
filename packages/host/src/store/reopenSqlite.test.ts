/**
 * The deliberate roll-back from PostgreSQL to the migrated SQLite file (`host migrate-store
 * --reopen-sqlite`), against a real PostgreSQL: refused while a host process is on PostgreSQL,
 * when PostgreSQL served past the file (the clients' signed-but-unproven pay would be refunded),
 * and when PostgreSQL cannot be reached, unless the operator says it never served.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployment, hash, serveUpTo } from "../testUtils/storeFixtures.ts";
import { startSilentServer, type SilentServer } from "../testUtils/silentServer.ts";
import { postgresStartTimeoutMs, startTestPostgres, type TestPostgres } from "../testUtils/testPostgres.ts";
import { migrateStore } from "./migrateStore.ts";
import { writeMigrationMark } from "./migrationMark.ts";
import { openStore } from "./openStore.ts";
import { reopenMigratedSqlite, RollbackRefusedError } from "./reopenSqlite.ts";
import { createStore } from "./sqliteStore.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

let postgres: TestPostgres;
let silent: SilentServer;
beforeAll(async () => {
  postgres = await startTestPostgres({ fsync: false });
  silent = await startSilentServer();
}, postgresStartTimeoutMs);
afterAll(async () => {
  postgres?.stop();
  await silent?.close();
});

/** A SQLite file whose job 4 stands at 25 signed tokens, migrated into a new database. */
async function migrated() {
  const path = join(tempDir("host-reopen-"), "host.sqlite");
  const sqlite = createStore({ path, deployment });
  await serveUpTo(sqlite, 4n, 1n, 0, 25);
  await sqlite.close();
  const url = await postgres.createDatabase();
  await migrateStore({ from: path, to: url });
  return { path, url, openPostgres: () => openStore({ location: { kind: "postgres", url, poolSize: 2 }, deployment }) };
}

/** Marks `path` as migrated to `to`, as migrate-store does. */
function remark(path: string, to: string) {
  const db = new Database(path);
  writeMigrationMark(db, { to, at: "2026-11-30T12:00:00.000Z" });
  db.close();
}

const refusal = (reason: RollbackRefusedError["reason"]) => expect.objectContaining({ name: "RollbackRefusedError", reason });

describe("reopenMigratedSqlite (the roll-back)", () => {
  it("refuses while a host process is on PostgreSQL (its connections, or any advisory lock held there), the file staying marked", async () => {
    const { path, url, openPostgres } = await migrated();
    const running = await openPostgres();
    await expect(reopenMigratedSqlite({ path })).rejects.toEqual(refusal("serving"));
    await running.close();

    // A process seen only by a lock it holds (another role's connection names, say, are hidden).
    const holder = new pg.Client({ connectionString: url, application_name: "anything" });
    await holder.connect();
    await holder.query("SELECT pg_advisory_lock(hashtextextended('session-jobs:proof-leader', 0))");
    const refused = await reopenMigratedSqlite({ path }).catch((error: unknown) => error);
    expect(refused).toEqual(refusal("serving"));
    expect((refused as Error).message).toMatch(/^host processes are still connected to postgres:\/\/\S+ \(1 connections\)$/);
    await holder.end();
    expect(() => createStore({ path, deployment })).toThrow(/was migrated to/);

    // All stopped, nothing served since: the roll-back goes through.
    expect(await reopenMigratedSqlite({ path })).toMatchObject({ checked: true });
    await createStore({ path, deployment }).close();
  });

  it("refuses when PostgreSQL served past the file, naming the sessions and the signed tokens not yet proven that would be refunded", async () => {
    const { path, openPostgres } = await migrated();
    // The operator's run: job 4 went on to 153 signed tokens, 88 proven; job 9 was opened on PostgreSQL only.
    const postgresStore = await openPostgres();
    await serveUpTo(postgresStore, 4n, 2n, 25, 88);
    await serveUpTo(postgresStore, 4n, 3n, 88, 153);
    await postgresStore.setProvenTokens(4n, 88);
    await serveUpTo(postgresStore, 9n, 1n, 0, 10);
    await postgresStore.recordSubmission({
      kind: "checkpoint",
      nonce: 1,
      txHash: hash("ee"),
      rawTx: "0x02",
      entries: [{ jobId: 4n, cumulativeTokens: 153, tokensInBatch: 65 }],
    });
    await postgresStore.close();

    const refused = await reopenMigratedSqlite({ path }).catch((error: unknown) => error);
    expect(refused).toEqual(refusal("served"));
    expect(refused).toMatchObject({ details: { since: { sessions: 2, unprovenTokens: 65n + 10n, transactions: 1 } } });
    expect((refused as Error).message).toMatch(
      / served past this file: 2 sessions went on \(75 signed tokens not yet proven would be refunded to their users\), 1 transactions were recorded$/,
    );
    // unchecked is for a PostgreSQL that cannot be reached, never an override of what it says.
    await expect(reopenMigratedSqlite({ path, unchecked: true })).rejects.toEqual(refusal("served"));
    expect(() => createStore({ path, deployment })).toThrow(/was migrated to/);
  });

  it("refuses a PostgreSQL it cannot reach unless told it never served; a mark with a hidden password needs the URL", async () => {
    const { path, url } = await migrated();
    // The same file as if marked for a server that is gone.
    remark(path, url.replace(/\?.*$/, `?host=${encodeURIComponent(join(tmpdir(), "no-such-socket-dir"))}`));
    await expect(reopenMigratedSqlite({ path, connectTimeoutMs: 2_000 })).rejects.toEqual(refusal("unreachable"));
    expect(() => createStore({ path, deployment })).toThrow(/was migrated to/);
    expect(await reopenMigratedSqlite({ path, unchecked: true, connectTimeoutMs: 2_000 })).toMatchObject({ checked: false });

    // Marked as migrate-store marks a URL with a password (the test server trusts its socket, so any password will do).
    const withPassword = url.replace("postgres://postgres@", "postgres://postgres:s3cret@");
    remark(path, withPassword.replace(":s3cret@", ":***@"));
    await expect(reopenMigratedSqlite({ path })).rejects.toEqual(refusal("url"));
    await expect(reopenMigratedSqlite({ path, url: await postgres.createDatabase() })).rejects.toEqual(refusal("url"));
    expect(await reopenMigratedSqlite({ path, url: withPassword })).toMatchObject({ checked: true });
  });

  it("stops at once when told to, on a server that accepts the connection and never answers", async () => {
    const path = join(tempDir("host-reopen-"), "host.sqlite");
    await createStore({ path, deployment }).close();
    remark(path, silent.url);
    const stop = new AbortController();
    // A connect timeout no test run reaches: only the signal can end the wait.
    const connected = silent.nextConnection();
    const reopening = reopenMigratedSqlite({ path, signal: stop.signal, connectTimeoutMs: 600_000 });
    await connected;
    stop.abort();
    await expect(reopening).rejects.toEqual(refusal("stopped"));
    expect(() => createStore({ path, deployment })).toThrow(/was migrated to/);
  });
});
