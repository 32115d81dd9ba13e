import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployment, exchange, hash } from "../testUtils/storeFixtures.ts";
import { postgresStartTimeoutMs, startTestPostgres, type TestPostgres } from "../testUtils/testPostgres.ts";
import { StoreDeploymentError } from "../errors.ts";
import { MigrationAbortedError, MigrationMarkError, MigrationSourceError, migrateStore, type MigrationProgress } from "./migrateStore.ts";
import { reopenMigratedSqlite } from "./reopenSqlite.ts";
import { openStore } from "./openStore.ts";
import { createPostgresStore } from "./postgresStore.ts";
import { createStore } from "./sqliteStore.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres({ fsync: false });
}, postgresStartTimeoutMs);
afterAll(() => postgres?.stop());

/**
 * A SQLite database as a node leaves it: an open session with an unreceipted exchange, a settled one, a pending proof, and
 * one closed for a refused receipt whose settlement is still due.
 */
async function sqliteWithHistory() {
  const path = join(tempDir("host-migrate-"), "host.sqlite");
  const store = createStore({ path, deployment });
  await store.ensureSession(1n, 100);
  await store.claimSequence(1n, 2n);
  await store.appendExchange({
    ...exchange,
    jobId: 1n,
    sequence: 1n,
    promptTokens: 10,
    completionTokens: 30,
    cumulativeTokens: 40,
    transcriptHash: hash("aa"),
  });
  await store.appendExchange({
    ...exchange,
    jobId: 1n,
    sequence: 2n,
    promptTokens: 5,
    completionTokens: 5,
    cumulativeTokens: 50,
    transcriptHash: hash("bb"),
    previousTranscriptHash: hash("aa"),
    // A model may write U+0000, which PostgreSQL's TEXT cannot hold.
    responseText: "wor\u0000ld",
  });
  await store.storeReceipt({ jobId: 1n, cumulativeTokens: 40, transcriptHash: hash("aa"), signature: "0x01" });
  await store.recordSubmission({
    kind: "checkpoint",
    nonce: 7,
    txHash: hash("cc"),
    rawTx: "0x02",
    entries: [{ jobId: 1n, cumulativeTokens: 40, tokensInBatch: 40 }],
  });
  await store.ensureSession(2n, 100);
  await store.appendExchange({ ...exchange, jobId: 2n, sequence: 1n, promptTokens: 1, completionTokens: 1, cumulativeTokens: 2, transcriptHash: hash("dd") });
  await store.storeReceipt({ jobId: 2n, cumulativeTokens: 2, transcriptHash: hash("dd"), signature: "0x03" });
  const settled = await store.recordSubmission({
    kind: "final",
    nonce: 8,
    txHash: hash("ee"),
    rawTx: "0x04",
    entries: [{ jobId: 2n, cumulativeTokens: 2, tokensInBatch: 2 }],
  });
  await store.setSubmissionStatus(settled, "confirmed");
  await store.ensureSession(3n, 100);
  await store.markRefused(3n);
  const expected = {
    sessions: [store.session(1n), store.session(2n)],
    unsigned: store.exchangesAfter(1n, store.newestReceipt(1n)),
    receipt: store.newestReceipt(1n),
    pending: store.pendingSubmissions(),
    submissions: store.submissionsOfJob(2n),
    settlementsDue: store.settlementsDue(),
  };
  await store.close();
  return { path, expected };
}

describe("migrating a host from SQLite to PostgreSQL", () => {
  it("carries the chain's genesis over: the PostgreSQL store refuses the chain after a reset as the file did", async () => {
    const path = join(tempDir("host-migrate-"), "host.sqlite");
    await createStore({ path, deployment: { ...deployment, genesis: hash("01") } }).close();
    const url = await postgres.createDatabase();
    expect((await migrateStore({ from: path, to: url })).deployment).toMatchObject({ genesis: hash("01") });
    await expect(createPostgresStore({ url, deployment: { ...deployment, genesis: hash("02") } })).rejects.toThrow(/^the chain was reset/);
    await (await createPostgresStore({ url, deployment: { ...deployment, genesis: hash("01") } })).close();
  });

  it("copies every session, exchange, receipt and transaction, and the node goes on where it stood", async () => {
    const { path, expected } = await sqliteWithHistory();
    const url = await postgres.createDatabase();
    expect(await migrateStore({ from: path, to: url })).toEqual({
      deployment: { chainId: 31337, marketplace: deployment.marketplace.toLowerCase(), host: deployment.host.toLowerCase() },
      sessions: 3,
      exchanges: 3,
      receipts: 2,
      submissions: 2,
    });
    const store = await createPostgresStore({ url, deployment });
    expect([await store.session(1n), await store.session(2n)]).toEqual(
      expected.sessions.map((session) => ({ ...session, lastActivityMs: expect.any(Number) })),
    );
    expect(await store.exchangesAfter(1n, await store.newestReceipt(1n))).toEqual(expected.unsigned);
    expect(await store.newestReceipt(1n)).toEqual(expected.receipt);
    expect(await store.pendingSubmissions()).toEqual(expected.pending);
    expect(await store.submissionsOfJob(2n)).toEqual(expected.submissions);
    expect(await store.settlementsDue()).toEqual(expected.settlementsDue);
    // New rows are numbered after the copied ones.
    await store.appendExchange({
      ...exchange,
      jobId: 1n,
      sequence: 3n,
      promptTokens: 1,
      completionTokens: 1,
      cumulativeTokens: 52,
      transcriptHash: hash("ff"),
      previousTranscriptHash: hash("bb"),
    });
    expect((await store.exchangesAfter(1n, await store.newestReceipt(1n))).map((stored) => stored.sequence)).toEqual([2n, 3n]);
    expect(await store.recordSubmission({ kind: "checkpoint", nonce: 9, txHash: hash("99"), rawTx: "0x05", entries: [] })).toBe(3);
    await store.close();
  });

  it("refuses a database in use by a node, and a PostgreSQL database that already holds a host's records", async () => {
    const { path } = await sqliteWithHistory();
    const running = createStore({ path, deployment });
    await expect(migrateStore({ from: path, to: await postgres.createDatabase() })).rejects.toThrow(/in use by another host process/);
    await running.close();
    const url = await postgres.createDatabase();
    await migrateStore({ from: path, to: url });
    // Another copy of the same history (the first file is marked as migrated).
    await expect(migrateStore({ from: (await sqliteWithHistory()).path, to: url })).rejects.toThrow(/already holds sessions or transactions/);
  });

  it("marks the SQLite file as migrated: a node on it, and a second migration, are refused until it is reopened on purpose", async () => {
    const { path } = await sqliteWithHistory();
    const url = await postgres.createDatabase();
    await migrateStore({ from: path, to: url, now: () => new Date("2026-11-30T12:00:00Z") });
    // Where it went and when.
    const refusal =
      /was migrated to postgres:\/\/.+ at 2026-11-30T12:00:00.000Z: a node on it would serve and bill the same requests as the PostgreSQL processes$/;
    expect(() => createStore({ path, deployment })).toThrow(refusal);
    await expect(openStore({ location: { kind: "sqlite", path }, deployment })).rejects.toThrow(StoreDeploymentError);
    await expect(migrateStore({ from: path, to: await postgres.createDatabase() })).rejects.toThrow(refusal);
    expect(() => createStore({ path, deployment })).toThrow(refusal);

    // The mark holds no password (the test server trusts its socket, so any password will do).
    const marked = (await sqliteWithHistory()).path;
    const withPassword = (await postgres.createDatabase()).replace("postgres://postgres@", "postgres://postgres:s3cret@");
    await migrateStore({ from: marked, to: withPassword });
    expect((await reopenMigratedSqlite({ path: marked, url: withPassword }))?.to).toBe(withPassword.replace(":s3cret@", ":***@"));

    // Reopened on purpose: a node opens it again, and it is no longer marked.
    expect(await reopenMigratedSqlite({ path })).toEqual({ to: expect.stringMatching(/^postgres:\/\//), at: "2026-11-30T12:00:00.000Z", checked: true });
    expect(await reopenMigratedSqlite({ path })).toBeUndefined();
    await createStore({ path, deployment }).close();

    // A mark that cannot be written (PostgreSQL has committed the copy): its own typed error, naming the file.
    const unmarkable = (await sqliteWithHistory()).path;
    const raw = new Database(unmarkable);
    raw.exec("CREATE TRIGGER no_mark BEFORE INSERT ON meta WHEN NEW.key = 'migratedTo' BEGIN SELECT RAISE(ABORT, 'the disk refused'); END");
    raw.close();
    const failed = await migrateStore({ from: unmarkable, to: await postgres.createDatabase() }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(MigrationMarkError);
    expect(failed).toMatchObject({ path: unmarkable, message: expect.stringMatching(/copied, but .* could not be marked/) });

    // A mistyped path is refused, and leaves no lock file behind.
    const typo = `${path}x`;
    await expect(reopenMigratedSqlite({ path: typo })).rejects.toThrow(/no SQLite database at/);
    expect(existsSync(`${typo}.lock`)).toBe(false);
  });

  it(
    "stops between batches when told to: PostgreSQL keeps nothing, the file is not marked, and a re-run copies everything once",
    { timeout: 120_000 },
    async () => {
      const path = join(tempDir("host-migrate-"), "host.sqlite");
      const store = createStore({ path, deployment });
      await store.ensureSession(1n, 100);
      for (let sequence = 1; sequence <= 1201; sequence++)
        await store.appendExchange({
          ...exchange,
          jobId: 1n,
          sequence: BigInt(sequence),
          promptTokens: 1,
          completionTokens: 1,
          cumulativeTokens: 2 * sequence,
          transcriptHash: hash(sequence.toString(16).padStart(4, "0")),
          previousTranscriptHash: sequence === 1 ? exchange.previousTranscriptHash : hash((sequence - 1).toString(16).padStart(4, "0")),
        });
      await store.close();
      const url = await postgres.createDatabase();
      const stop = new AbortController();
      const seen: MigrationProgress[] = [];
      await expect(
        migrateStore({
          from: path,
          to: url,
          signal: stop.signal,
          onProgress: (progress) => {
            seen.push(progress);
            if (progress.table === "exchanges") stop.abort();
          },
        }),
      ).rejects.toThrow(MigrationAbortedError);
      expect(seen).toEqual([
        { table: "sessions", copied: 1, of: 1 },
        { table: "exchanges", copied: 500, of: 1201 },
      ]);
      expect(await postgres.query(url, "SELECT (SELECT count(*) FROM sessions) AS sessions, (SELECT count(*) FROM exchanges) AS exchanges")).toEqual([
        { sessions: "0", exchanges: "0" },
      ]);
      expect(await reopenMigratedSqlite({ path })).toBeUndefined();

      const progress: MigrationProgress[] = [];
      expect(await migrateStore({ from: path, to: url, onProgress: (step) => progress.push(step) })).toMatchObject({ sessions: 1, exchanges: 1201 });
      expect(progress.filter((step) => step.table === "exchanges").map((step) => step.copied)).toEqual([500, 1000, 1201]);
      expect(await postgres.query(url, "SELECT count(*) AS n, max(sequence) AS last FROM exchanges")).toEqual([{ n: "1201", last: "1201" }]);
    },
  );

  it("names the SQLite file it cannot open, and leaves PostgreSQL alone", async () => {
    const dir = tempDir("host-migrate-");
    const url = await postgres.createDatabase();
    for (const path of [join(dir, "missing.sqlite"), join(dir, "no-such-folder", "host.sqlite"), dir]) {
      const error = await migrateStore({ from: path, to: url }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MigrationSourceError);
      expect((error as Error).message).toMatch(new RegExp(`^cannot open the SQLite database ${path}: `));
    }
    expect(await postgres.query(url, "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")).toEqual([{ n: "0" }]);
  });
});
