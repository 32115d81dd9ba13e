import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyTranscriptHash } from "@session-jobs/protocol";
import { interleaveAfter } from "../testUtils/queryInterleave.ts";
import { deployment, exchange, hash } from "../testUtils/storeFixtures.ts";
import { reachedFromReceipt } from "../testUtils/syncChain.ts";
import { postgresStartTimeoutMs, startTestPostgres, type TestPostgres } from "../testUtils/testPostgres.ts";
import { exchangeColumns, exchangeValues } from "./exchangeRow.ts";
import { postgresMigrations } from "./postgresSchema.ts";
import { createPostgresStore } from "./postgresStore.ts";
import { createStore } from "./sqliteStore.ts";
import type { Store, StoreDeployment } from "./storeTypes.ts";
import { StoreDeploymentError } from "../errors.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

/**
 * The store contract: what the host relies on, run against both stores. A "database" is a fresh
 * SQLite file or a fresh PostgreSQL database; `open` opens it as a host process would.
 */
type Backend = {
  name: string;
  fresh(): Promise<string>;
  /** `now`: the process's clock. */
  open(database: string, deployment?: StoreDeployment, now?: () => number): Promise<Store>;
  rows(database: string, table: string): Promise<number>;
};

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres({ fsync: false });
}, postgresStartTimeoutMs);
afterAll(() => postgres?.stop());

const backends: Backend[] = [
  {
    name: "SQLite",
    fresh: async () => join(tempDir("host-store-"), "host.sqlite"),
    open: async (path, given = deployment, now) => createStore({ path, deployment: given, now }),
    async rows(path, table) {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
      } finally {
        db.close();
      }
    },
  },
  {
    name: "PostgreSQL",
    fresh: () => postgres.createDatabase(),
    open: (url, given = deployment, now) => createPostgresStore({ url, deployment: given, poolSize: 4, leaderRetryMs: 20, now }),
    rows: async (url, table) => Number((await postgres.query<{ n: string }>(url, `SELECT count(*) AS n FROM ${table}`))[0]!.n),
  },
];

/** A session's first exchange: 10 prompt and 30 completion tokens, on the empty transcript. */
const firstExchange = { ...exchange, sequence: 1n, promptTokens: 10, completionTokens: 30, cumulativeTokens: 40, transcriptHash: hash("aa") };

describe.each(backends)("store contract: $name", (backend) => {
  it("keeps sessions, exchanges, receipts and submissions across a reopen", async () => {
    const database = await backend.fresh();
    const store = await backend.open(database);
    expect(await store.ensureSession(1n, 100)).toMatchObject({
      servedTokens: 0,
      transcriptHash: emptyTranscriptHash,
      lastSequence: 0n,
      checkpointInterval: 100,
    });
    expect(await store.claimSequence(1n, 1n)).toBe(true);
    expect(await store.claimSequence(1n, 1n)).toBe(false);
    await store.appendExchange(firstExchange);
    expect(await store.storeReceipt({ jobId: 1n, cumulativeTokens: 40, transcriptHash: hash("aa"), signature: "0x01" })).toBe(true);
    expect(await store.storeReceipt({ jobId: 1n, cumulativeTokens: 40, transcriptHash: hash("aa"), signature: "0x01" })).toBe(false);
    const id = await store.recordSubmission({
      kind: "checkpoint",
      nonce: 0,
      txHash: hash("cc"),
      rawTx: "0x02",
      entries: [{ jobId: 1n, cumulativeTokens: 40, tokensInBatch: 40 }],
    });
    await store.close();

    const reopened = await backend.open(database);
    expect(await reopened.session(1n)).toMatchObject({
      lastSequence: 1n,
      servedTokens: 40,
      signedTokens: 40,
      provenTokens: 0,
      transcriptHash: hash("aa"),
      closed: false,
    });
    expect((await reopened.exchangesAt(1n, 40)).map((stored) => stored.transcriptHash)).toEqual([hash("aa")]);
    expect((await reopened.sessionsWithUnprovenReceipts()).map((session) => session.jobId)).toEqual([1n]);
    expect(await reopened.unprovenSignedTokens()).toBe(40);
    expect(await reopened.pendingSubmissions()).toMatchObject([{ id, status: "signed", entries: [{ jobId: 1n, cumulativeTokens: 40, tokensInBatch: 40 }] }]);
    expect(await reopened.setSubmissionStatus(id, "confirmed")).toMatchObject({ id, status: "confirmed" });
    expect((await reopened.session(1n))?.provenTokens).toBe(40);
    expect(await reopened.sessionsWithUnprovenReceipts()).toEqual([]);
    expect(await reopened.submissionsOfJob(1n)).toMatchObject([{ id, kind: "checkpoint", status: "confirmed" }]);
    await reopened.close();
  });

  it("keeps job ids and sequences of uint256 size exactly", async () => {
    const store = await backend.open(await backend.fresh());
    const jobId = 2n ** 255n + 7n;
    await store.ensureSession(jobId, 100);
    expect(await store.claimSequence(jobId, 2n ** 200n)).toBe(true);
    expect(await store.claimSequence(jobId, 2n ** 200n - 1n)).toBe(false);
    expect(await store.session(jobId)).toMatchObject({ jobId, lastSequence: 2n ** 200n });
    await store.close();
  });

  it("refuses a database made for another chain, contract or host", async () => {
    const database = await backend.fresh();
    await (await backend.open(database)).close();
    await expect(backend.open(database, { ...deployment, chainId: 1 })).rejects.toThrow(/database belongs to chainId 31337, not 1/);
  });

  it("refuses a database made on a chain since reset: same chain id, contract and host, another genesis block", async () => {
    const database = await backend.fresh();
    const store = await backend.open(database, { ...deployment, genesis: hash("01") });
    await store.ensureSession(1n, 100);
    await store.markClosed(1n);
    await store.close();
    const reset = backend.open(database, { ...deployment, genesis: hash("02") });
    await expect(reset).rejects.toThrow(StoreDeploymentError);
    await expect(reset).rejects.toThrow(new RegExp(`^the chain was reset: chain 31337's genesis block is ${hash("02")}, this database's is ${hash("01")}`));
    // Nothing was deleted: the old chain's database opens as before.
    const again = await backend.open(database, { ...deployment, genesis: hash("01") });
    expect(await again.session(1n)).toMatchObject({ closed: true });
    await again.close();
  });

  it("a database from before genesis was recorded adopts the chain's genesis on first open, then refuses another", async () => {
    const database = await backend.fresh();
    // What an older node recorded: chain id, contract and host only.
    const legacy = await backend.open(database, deployment);
    await legacy.ensureSession(1n, 100);
    await legacy.close();
    const adopted = await backend.open(database, { ...deployment, genesis: hash("01") });
    expect(await adopted.session(1n)).toMatchObject({ closed: false });
    await adopted.close();
    await expect(backend.open(database, { ...deployment, genesis: hash("02") })).rejects.toThrow(/^the chain was reset/);
    await (await backend.open(database, { ...deployment, genesis: hash("01") })).close();
  });

  it("lists the exchanges after a receipt, and counts the bytes of the requests and answers no receipt covers", async () => {
    const store = await backend.open(await backend.fresh());
    await store.ensureSession(1n, 100);
    const first = firstExchange;
    const second = {
      ...exchange,
      sequence: 3n,
      promptTokens: 5,
      completionTokens: 0,
      cumulativeTokens: 45,
      transcriptHash: hash("bb"),
      previousTranscriptHash: hash("aa"),
      aborted: true,
      responseText: "",
    };
    await store.appendExchange(first);
    await store.appendExchange(second);
    expect(await store.unsignedBytes(1n)).toBe(2 * exchange.requestBody.length + exchange.responseText.length);
    expect(await store.exchangesAfter(1n, undefined)).toEqual([first, second]);
    await store.storeReceipt({ jobId: 1n, cumulativeTokens: 40, transcriptHash: hash("aa"), signature: "0x01" });
    expect(await store.exchangesAfter(1n, await store.newestReceipt(1n))).toEqual([second]);
    expect(await store.unsignedBytes(1n)).toBe(exchange.requestBody.length);
    expect(await store.lastExchange(1n)).toMatchObject({ sequence: 3n, aborted: true, cumulativeTokens: 45 });
    await store.close();
  });

  it("records an exchange only on the transcript it was served on: a second answer on the same one is refused, not forked", async () => {
    // Two processes each sure of the session's turn (one's lock connection lost meanwhile) finish together.
    const store = await backend.open(await backend.fresh());
    await store.ensureSession(1n, 100);
    const first = firstExchange;
    const rival = { ...first, sequence: 2n, completionTokens: 20, cumulativeTokens: 30, transcriptHash: hash("bb") };
    await store.appendExchange(first);
    await expect(store.appendExchange(rival)).rejects.toMatchObject({ code: "session_out_of_sync" });
    expect(await store.exchangesAfter(1n, undefined)).toEqual([first]);
    expect(await store.session(1n)).toMatchObject({ servedTokens: 40, transcriptHash: hash("aa") });
    await store.close();
  });

  it("keeps any answer text a model may write, NUL characters included, byte for byte", async () => {
    // PostgreSQL's TEXT cannot hold U+0000: an answer with one was streamed, then never recorded nor billed.
    const database = await backend.fresh();
    const store = await backend.open(database);
    await store.ensureSession(1n, 100);
    const answer = { ...firstExchange, responseText: "wor\u0000ld — ünïcödé 🙂 \u0000" };
    await store.appendExchange(answer);
    expect(await store.exchangesAfter(1n, undefined)).toEqual([answer]);
    expect(await store.unsignedBytes(1n)).toBe(exchange.requestBody.length + new TextEncoder().encode(answer.responseText).length);
    await store.close();
    const reopened = await backend.open(database);
    expect((await reopened.exchangesAfter(1n, undefined))[0]!.responseText).toBe(answer.responseText);
    await reopened.close();
  });

  it("reads a sync answer's head, newest receipt and the exchanges kept (after the receipt before it) as one snapshot, whatever another process commits between its reads", async () => {
    const database = await backend.fresh();
    const store = await backend.open(database);
    // Another process (SQLite: one process, so one handle).
    const other = backend.name === "SQLite" ? store : await backend.open(database);
    const chain = [1, 2, 3].map((n) => ({
      ...exchange,
      sequence: BigInt(n),
      promptTokens: 1,
      completionTokens: 1,
      cumulativeTokens: 2 * n,
      transcriptHash: hash(`0${n}`),
      previousTranscriptHash: n === 1 ? emptyTranscriptHash : hash(`0${n - 1}`),
    }));
    expect(await store.syncSnapshot(1n)).toBeUndefined();
    await store.ensureSession(1n, 100);
    await store.appendExchange(chain[0]!);
    await store.appendExchange(chain[1]!);
    await store.storeReceipt({ jobId: 1n, cumulativeTokens: 2, transcriptHash: hash("01"), signature: "0x01" });
    expect(await store.syncSnapshot(1n)).toEqual({
      state: expect.objectContaining({ servedTokens: 4, transcriptHash: hash("02") }),
      receipt: expect.objectContaining({ cumulativeTokens: 2, transcriptHash: hash("01"), signature: "0x01" }),
      // The newest receipt's exchange stays (no receipt before it), for a client that lost its state after signing it.
      exchanges: [chain[0], chain[1]],
    });
    // PostgreSQL: the other process's write commits right after the named read returns, before the next. SQLite: issued
    // with the snapshot, it commits before or after its synchronous reads, never between them.
    const writes: [RegExp, () => unknown][] = [
      [/\bFROM receipts\b/i, () => other.storeReceipt({ jobId: 1n, cumulativeTokens: 4, transcriptHash: hash("02"), signature: "0x02" })],
      [/\bFROM sessions\b/i, () => other.appendExchange(chain[2]!)],
    ];
    for (const [after, write] of writes) {
      const interleaved = backend.name === "PostgreSQL" ? interleaveAfter(after, write) : undefined;
      const [snapshot] = await Promise.all([store.syncSnapshot(1n), interleaved ? undefined : write()]);
      if (interleaved) expect(interleaved.fired()).toBe(true);
      expect(reachedFromReceipt(snapshot!.receipt, snapshot!.exchanges)).toEqual({
        cumulativeTokens: snapshot!.state.servedTokens,
        transcriptHash: snapshot!.state.transcriptHash,
      });
    }
    // The receipt before the newest (2) covers the first exchange: it is gone.
    expect(await store.syncSnapshot(1n)).toMatchObject({ state: { servedTokens: 6 }, receipt: { cumulativeTokens: 4 }, exchanges: [chain[1], chain[2]] });
    await store.close();
    if (other !== store) await other.close();
  });

  it("reads a session's head and its last exchange as one snapshot, whatever another process appends between the reads", async () => {
    const database = await backend.fresh();
    const store = await backend.open(database);
    const other = backend.name === "SQLite" ? store : await backend.open(database);
    expect(await store.sessionWithLastExchange(1n)).toBeUndefined();
    await store.ensureSession(1n, 100);
    expect(await store.sessionWithLastExchange(1n)).toEqual({ state: expect.objectContaining({ servedTokens: 0 }), lastExchange: undefined });
    await store.appendExchange({ ...exchange, sequence: 1n, promptTokens: 1, completionTokens: 1, cumulativeTokens: 2, transcriptHash: hash("01") });
    const next = {
      ...exchange,
      sequence: 2n,
      promptTokens: 1,
      completionTokens: 1,
      cumulativeTokens: 4,
      transcriptHash: hash("02"),
      previousTranscriptHash: hash("01"),
    };
    const append = () => other.appendExchange(next);
    // As in the sync answer's snapshot above: PostgreSQL, right after the session's row is read; SQLite, issued with the reads.
    const interleaved = backend.name === "PostgreSQL" ? interleaveAfter(/\bFROM sessions\b/i, append) : undefined;
    const [read] = await Promise.all([store.sessionWithLastExchange(1n), interleaved ? undefined : append()]);
    if (interleaved) expect(interleaved.fired()).toBe(true);
    expect(read!.lastExchange).toMatchObject({ cumulativeTokens: read!.state.servedTokens, transcriptHash: read!.state.transcriptHash });
    expect(await store.sessionWithLastExchange(1n)).toMatchObject({ state: { servedTokens: 4 }, lastExchange: { sequence: 2n } });
    await store.close();
    if (other !== store) await other.close();
  });

  it("prunes a settled session to its last exchange, newest receipt and transactions", async () => {
    const database = await backend.fresh();
    const store = await backend.open(database);
    await store.ensureSession(1n, 1000);
    for (let request = 1; request <= 6; request++) {
      await store.claimSequence(1n, BigInt(request));
      await store.appendExchange({
        ...exchange,
        sequence: BigInt(request),
        promptTokens: 4,
        completionTokens: 6,
        cumulativeTokens: 10 * request,
        transcriptHash: hash(`0${request}`),
        previousTranscriptHash: request === 1 ? emptyTranscriptHash : hash(`0${request - 1}`),
      });
      await store.storeReceipt({ jobId: 1n, cumulativeTokens: 10 * request, transcriptHash: hash(`0${request}`), signature: "0x01" });
    }
    const settlement = await store.recordSubmission({
      kind: "final",
      nonce: 1,
      txHash: hash("ff"),
      rawTx: "0x03",
      entries: [{ jobId: 1n, cumulativeTokens: 60, tokensInBatch: 60 }],
    });
    await store.setSubmissionStatus(settlement, "confirmed");
    expect([await backend.rows(database, "exchanges"), await backend.rows(database, "receipts")]).toEqual([1, 1]);
    expect(await store.session(1n)).toMatchObject({ closed: true, provenTokens: 60 });
    expect(await store.newestReceipt(1n)).toMatchObject({ cumulativeTokens: 60 });
    expect(await store.openSessions()).toEqual([]);
    // A late receipt does not bring pruned rows back; markClosed (seen on chain) prunes the same way.
    await store.storeReceipt({ jobId: 1n, cumulativeTokens: 50, transcriptHash: hash("05"), signature: "0x01" });
    expect(await backend.rows(database, "receipts")).toBe(1);
    await store.ensureSession(2n, 1000);
    await store.appendExchange({ ...exchange, jobId: 2n, sequence: 1n, promptTokens: 1, completionTokens: 1, cumulativeTokens: 2, transcriptHash: hash("21") });
    await store.appendExchange({
      ...exchange,
      jobId: 2n,
      sequence: 2n,
      promptTokens: 1,
      completionTokens: 1,
      cumulativeTokens: 4,
      transcriptHash: hash("22"),
      previousTranscriptHash: hash("21"),
    });
    await store.markClosed(2n);
    expect(await store.exchangesAfter(2n, undefined)).toEqual([]);
    expect(await backend.rows(database, "exchanges")).toBe(2);
    await store.close();
  });

  it("shares a close under way with every process until its lease ends on the store's clock, it is abandoned or the session settles, and keeps it across a reopen", async () => {
    const database = await backend.fresh();
    // Two processes whose clocks are two hours apart (SQLite: one process, so one handle and one
    // clock). PostgreSQL sets and judges the lease on the database's clock, so they agree on it.
    const hourMs = 3_600_000;
    const behind = () => Date.now() - hourMs;
    const first = await backend.open(database, deployment, behind);
    const second = backend.name === "SQLite" ? first : await backend.open(database, deployment, () => Date.now() + hourMs);
    await first.ensureSession(1n, 100);
    expect(await second.session(1n)).toMatchObject({ closing: false });
    await first.markClosing(1n, 60_000, "first close");
    expect(await second.session(1n)).toMatchObject({ closing: true, closed: false });
    expect(await first.session(1n)).toMatchObject({ closing: true });
    await second.clearClosing(1n, "first close");
    expect(await first.session(1n)).toMatchObject({ closing: false });
    // A lease of nothing has ended by the time anyone reads it.
    await second.markClosing(1n, 0, "second close");
    expect(await first.session(1n)).toMatchObject({ closing: false });
    expect(await second.session(1n)).toMatchObject({ closing: false });
    await second.markClosing(1n, 60_000, "third close");
    // Every read of a session's row says whether its close holds.
    expect(await first.openSessions()).toMatchObject([{ jobId: 1n, closing: true }]);
    expect(await first.ensureSession(1n, 100)).toMatchObject({ closing: true });
    expect(await first.syncSnapshot(1n)).toMatchObject({ state: { closing: true } });
    if (second !== first) await second.close();
    await first.close();
    const reopened = await backend.open(database, deployment, behind);
    expect(await reopened.session(1n)).toMatchObject({ closing: true });
    await reopened.markClosed(1n);
    expect(await reopened.session(1n)).toMatchObject({ closed: true });
    await reopened.close();
  });

  it("records a transaction signed again byte for byte after it was dropped (an RPC refused it, the same nonce, fees and call) under its old record", async () => {
    const database = await backend.fresh();
    const store = await backend.open(database);
    const transaction = {
      kind: "complete" as const,
      nonce: 3,
      txHash: hash("c3"),
      rawTx: "0x03" as const,
      entries: [{ jobId: 1n, cumulativeTokens: 0, tokensInBatch: 0 }],
    };
    const id = await store.recordSubmission(transaction);
    await store.setSubmissionStatus(id, "dropped", "refused by the RPC");
    expect(await store.recordSubmission(transaction)).toBe(id);
    expect(await store.pendingSubmissions()).toEqual([{ ...transaction, id, status: "signed", error: null }]);
    // Bytes still on their way (or mined) are not recorded twice.
    await expect(Promise.resolve().then(() => store.recordSubmission(transaction))).rejects.toThrow();
    await store.close();
  });

  it("remembers, with its close, that a session closed for a refused receipt is due a settlement, across a reopen, until that is cleared", async () => {
    const database = await backend.fresh();
    const store = await backend.open(database);
    for (const jobId of [1n, 2n, 3n]) await store.ensureSession(jobId, 100);
    await store.markRefused(1n);
    await store.markClosed(2n);
    expect(await store.session(1n)).toMatchObject({ closed: true });
    expect(await store.settlementsDue()).toEqual([1n]);
    await store.close();
    const reopened = await backend.open(database);
    expect(await reopened.settlementsDue()).toEqual([1n]);
    await reopened.markRefused(3n);
    await reopened.clearSettlementDue(1n);
    expect(await reopened.settlementsDue()).toEqual([3n]);
    expect(await reopened.session(1n)).toMatchObject({ closed: true });
    await reopened.close();
  });

  it("clears a close's mark only while it is that close's lease: a close another process took over keeps its mark", async () => {
    const database = await backend.fresh();
    const first = await backend.open(database);
    const second = backend.name === "SQLite" ? first : await backend.open(database);
    await first.ensureSession(1n, 100);
    await first.markClosing(1n, 60_000, "first close");
    // The first close's turn went with its lock connection: the second process took the close over, under a lease of its own.
    await second.markClosing(1n, 60_000, "second close");
    // The first close fails late: its clear must not wipe the second's mark (the session would be served while it settles).
    await first.clearClosing(1n, "first close");
    expect(await second.session(1n)).toMatchObject({ closing: true });
    expect(await first.session(1n)).toMatchObject({ closing: true });
    // A clear after a lease ran out is refused the same way, once the session is marked anew.
    await first.markClosing(1n, 0, "lapsed close");
    await second.markClosing(1n, 60_000, "fourth close");
    await first.clearClosing(1n, "lapsed close");
    expect(await first.session(1n)).toMatchObject({ closing: true });
    await second.clearClosing(1n, "fourth close");
    expect(await first.session(1n)).toMatchObject({ closing: false });
    // Cleared, the mark names no lease: clearing it again changes nothing, and a new close marks it as before.
    await second.clearClosing(1n, "fourth close");
    await first.markClosing(1n, 60_000, "fifth close");
    expect(await second.session(1n)).toMatchObject({ closing: true });
    if (second !== first) await second.close();
    await first.close();
  });

  it("gives a sequence number to exactly one of many concurrent claims, and keeps the highest receipt", async () => {
    const database = await backend.fresh();
    // Two handles on one database: two processes (SQLite: one process, so one handle).
    const first = await backend.open(database);
    const second = backend.name === "SQLite" ? first : await backend.open(database);
    await first.ensureSession(1n, 1000);
    await second.ensureSession(1n, 1000);
    const claims = await Promise.all(Array.from({ length: 20 }, async (_, index) => (index % 2 ? first : second).claimSequence(1n, 5n)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    for (let request = 1; request <= 4; request++)
      await first.appendExchange({
        ...exchange,
        sequence: BigInt(request + 5),
        promptTokens: 1,
        completionTokens: 9,
        cumulativeTokens: 10 * request,
        transcriptHash: hash(`0${request}`),
        previousTranscriptHash: request === 1 ? emptyTranscriptHash : hash(`0${request - 1}`),
      });
    await Promise.all(
      [4, 2, 3, 1].map(async (request, index) =>
        (index % 2 ? first : second).storeReceipt({ jobId: 1n, cumulativeTokens: 10 * request, transcriptHash: hash(`0${request}`), signature: "0x01" }),
      ),
    );
    expect(await second.session(1n)).toMatchObject({ signedTokens: 40, servedTokens: 40, lastSequence: 5n });
    expect(await first.exchangesAfter(1n, await first.newestReceipt(1n))).toEqual([]);
    await first.close();
    if (second !== first) await second.close();
  });
});

describe("PostgreSQL store across processes", () => {
  const open = async (url: string) => createPostgresStore({ url, deployment, poolSize: 2, leaderRetryMs: 20 });

  it("upgrades a database of schema version 2, whose answers are TEXT, keeping every answer as it was", async () => {
    const url = await postgres.createDatabase();
    await postgres.query(
      url,
      `CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (2); ${postgresMigrations.slice(0, 2).join("\n")}`,
    );
    await postgres.query(
      url,
      "INSERT INTO sessions (job_id, transcript_hash, checkpoint_interval, last_activity_ms, served_tokens) VALUES (1, $1, 100, 0, 40)",
      [hash("aa")],
    );
    const answer = { ...firstExchange, responseText: "ünïcödé 🙂" };
    await postgres.query(url, `INSERT INTO exchanges (${exchangeColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, [
      ...exchangeValues(answer, 0, { flag: (value) => value, answer: (text) => text }),
    ]);
    const store = await open(url);
    expect(await store.exchangesAfter(1n, undefined)).toEqual([answer]);
    expect((await postgres.query<{ version: number }>(url, "SELECT version FROM schema_version"))[0]!.version).toBe(postgresMigrations.length);
    await store.close();
  });

  it("gives a session's turn, the chain writer and the proof lead to one process at a time, and frees them when it goes", async () => {
    const url = await postgres.createDatabase();
    const [first, second] = [await open(url), await open(url)];
    const order: string[] = [];
    const releaseFirst = await first.locks.session(1n);
    // Tried without waiting: refused while the other process holds it.
    expect(await second.locks.trySession(1n)).toBeUndefined();
    const waiting = second.locks.session(1n).then((release) => (order.push("second"), release));
    // Another session's turn is not held up.
    (await second.locks.session(2n))();
    order.push("first");
    releaseFirst();
    (await waiting)();
    expect(order).toEqual(["first", "second"]);
    // Given back on the connection that tries next, in order: free at once to that process, then held against the other.
    const tried = await second.locks.trySession(1n);
    expect(tried?.held()).toBe(true);
    expect(await first.locks.trySession(1n)).toBeUndefined();
    tried!();

    const writer = await first.locks.chainWriter();
    let secondWrote = false;
    const secondWriter = second.locks.chainWriter().then((release) => ((secondWrote = true), release));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(secondWrote).toBe(false);
    writer();
    (await secondWriter)();

    const leaders: string[] = [];
    const stop = new AbortController();
    await first.locks.leadProofs(async () => void leaders.push("first"), stop.signal);
    await second.locks.leadProofs(async () => void leaders.push("second"), stop.signal);
    expect(leaders).toEqual(["first"]);
    // The leader's connection goes (its process died): the other takes over.
    await first.close();
    await expect.poll(() => leaders, { timeout: 60_000 }).toEqual(["first", "second"]);
    stop.abort();
    await second.close();
  });

  it("announces a stored receipt to every process that listens", async () => {
    const url = await postgres.createDatabase();
    const [writer, listener] = [await open(url), await open(url)];
    const heard: bigint[] = [];
    listener.locks.onReceiptStored((jobId) => heard.push(jobId));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writer.ensureSession(7n, 100);
    await writer.appendExchange({
      ...exchange,
      jobId: 7n,
      sequence: 1n,
      promptTokens: 1,
      completionTokens: 1,
      cumulativeTokens: 2,
      transcriptHash: hash("07"),
    });
    await writer.storeReceipt({ jobId: 7n, cumulativeTokens: 2, transcriptHash: hash("07"), signature: "0x01" });
    await writer.storeReceipt({ jobId: 7n, cumulativeTokens: 2, transcriptHash: hash("07"), signature: "0x01" });
    await expect.poll(() => heard, { timeout: 60_000 }).toEqual([7n]);
    await Promise.all([writer.close(), listener.close()]);
  });

  it("refuses new work while its lock connection is lost and gives up the proof lead; serves again and contends again once reconnected", async () => {
    const url = await postgres.createDatabase();
    const name = /@\/(\w+)\?/.exec(url)![1]!;
    const [first, second] = [await open(url), await open(url)];
    const stop = new AbortController();
    const leaders: string[] = [];
    const lead = (who: string) => async (lost: AbortSignal) => {
      leaders.push(who);
      lost.addEventListener("abort", () => leaders.push(`${who} lost`));
    };
    await first.locks.leadProofs(lead("first"), stop.signal);
    await second.locks.leadProofs(lead("second"), stop.signal);
    expect(leaders).toEqual(["first"]);
    // No new connection may reach the database (the server unreachable) while the first's lock connection is cut.
    await postgres.query(postgres.url("postgres"), `ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
    try {
      // The first's lock connection: the one holding the proof lock (both stores run in this process, under one name).
      await postgres.query(
        postgres.url("postgres"),
        `SELECT pg_terminate_backend(l.pid) FROM pg_locks l, (SELECT hashtextextended('session-jobs:proof-leader', 0) AS k) key
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = $1)
           AND l.classid::bigint = ((key.k >> 32) & 4294967295) AND l.objid::bigint = (key.k & 4294967295)`,
        [name],
      );
      await expect.poll(() => first.fault(), { timeout: 60_000 }).toMatch(/lock connection/);
      expect(() => first.assertWritable()).toThrow(expect.objectContaining({ code: "storage_unavailable", status: 503 }));
      await expect(first.locks.session(1n)).rejects.toMatchObject({ code: "storage_unavailable" });
      await expect(first.locks.trySession(1n)).rejects.toMatchObject({ code: "storage_unavailable" });
      // The lead went with the connection: the other process takes it.
      await expect.poll(() => leaders, { timeout: 60_000 }).toEqual(["first", "first lost", "second"]);
    } finally {
      await postgres.query(postgres.url("postgres"), `ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
    }
    await expect.poll(() => first.fault(), { timeout: 60_000 }).toBeUndefined();
    (await first.locks.session(1n))();
    // Reconnected, it contends again: it leads once the other goes.
    await second.close();
    await expect.poll(() => leaders, { timeout: 60_000 }).toEqual(["first", "first lost", "second", "first"]);
    stop.abort();
    await first.close();
  }, 120_000);

  it("refuses to open, with an error and no crash, when PostgreSQL cannot be reached", async () => {
    await expect(
      createPostgresStore({ url: `postgres://postgres@/none?host=${encodeURIComponent(join(tmpdir(), "no-such-socket-dir"))}`, deployment }),
    ).rejects.toThrow();
  });
});
