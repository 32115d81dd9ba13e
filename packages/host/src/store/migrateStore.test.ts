import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployment, exchange, hash } from "../testUtils/storeFixtures.ts";
import { startTestPostgres, type TestPostgres } from "../testUtils/testPostgres.ts";
import { migrateStore } from "./migrateStore.ts";
import { createPostgresStore } from "./postgresStore.ts";
import { createStore } from "./sqliteStore.ts";

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres({ fsync: false });
}, 120_000);
afterAll(() => postgres?.stop());

/** A SQLite database as a node leaves it: an open session with an unreceipted exchange, a settled one, a pending proof. */
async function sqliteWithHistory() {
  const path = join(mkdtempSync(join(tmpdir(), "host-migrate-")), "host.sqlite");
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
  const expected = {
    sessions: [store.session(1n), store.session(2n)],
    unsigned: store.exchangesAfter(1n, store.newestReceipt(1n)),
    receipt: store.newestReceipt(1n),
    pending: store.pendingSubmissions(),
    submissions: store.submissionsOfJob(2n),
  };
  await store.close();
  return { path, expected };
}

describe("migrating a host from SQLite to PostgreSQL", () => {
  it("carries the chain's genesis over: the PostgreSQL store refuses the chain after a reset as the file did", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "host-migrate-")), "host.sqlite");
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
      sessions: 2,
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
    await expect(migrateStore({ from: path, to: url })).rejects.toThrow(/already holds sessions or transactions/);
  });
});
