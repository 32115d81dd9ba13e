/**
 * PostgreSQL failing under a running store: a connection terminated (`pg_terminate_backend`, a
 * failover, a restart) in the middle of a transaction must fail that one write with
 * `storage_unavailable`, never raise an error nobody handles (which ends the host process).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployment, exchange, hash } from "../testUtils/storeFixtures.ts";
import { interleaveAfter } from "../testUtils/queryInterleave.ts";
import { postgresStartTimeoutMs, startTestPostgres, type TestPostgres } from "../testUtils/testPostgres.ts";
import type { LockConnection } from "./lockConnection.ts";
import { createPostgresLocks } from "./postgresLocks.ts";
import { createPostgresStore } from "./postgresStore.ts";
import { createSessionTurns } from "../session/sessionTurns.ts";
import type { Store } from "./storeTypes.ts";

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres({ fsync: false });
}, postgresStartTimeoutMs);
afterAll(() => postgres?.stop());

const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => void uncaught.push(error);

describe("PostgreSQL store when its connections are cut", () => {
  it("fails a write whose connection is terminated mid-transaction with storage_unavailable, and nothing is left uncaught", async () => {
    const url = await postgres.createDatabase();
    const store = await createPostgresStore({ url, deployment, poolSize: 2, leaderRetryMs: 20 });
    process.on("uncaughtException", onUncaught);
    process.on("unhandledRejection", onUncaught);
    try {
      await store.ensureSession(1n, 100);
      await store.appendExchange({ ...exchange, sequence: 1n, promptTokens: 1, completionTokens: 1, cumulativeTokens: 2, transcriptHash: hash("01") });
      // Another connection holds the session's row: the receipt's transaction waits on it, inside its transaction.
      const holder = new pg.Client({ connectionString: url });
      await holder.connect();
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM sessions WHERE job_id = '1' FOR UPDATE");
      const receipt = Promise.resolve(store.storeReceipt({ jobId: 1n, cumulativeTokens: 2, transcriptHash: hash("01"), signature: "0x01" })).then(
        () => "stored",
        (error: unknown) => error,
      );
      const waiting = () =>
        postgres.query<{ pid: number }>(url, "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name LIKE 'session-jobs-host%'");
      await expect.poll(async () => (await waiting()).length, { timeout: 60_000 }).toBe(1);
      await postgres.query(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name LIKE 'session-jobs-host%'",
      );
      expect(await receipt).toMatchObject({ code: "storage_unavailable" });
      await holder.query("ROLLBACK");
      await holder.end();
      // The socket's end is reported after the query's failure: give it time to arrive.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(uncaught).toEqual([]);
      // The store works again on a fresh connection.
      expect(await store.storeReceipt({ jobId: 1n, cumulativeTokens: 2, transcriptHash: hash("01"), signature: "0x01" })).toBe(true);
    } finally {
      process.off("uncaughtException", onUncaught);
      process.off("unhandledRejection", onUncaught);
      await store.close();
    }
  }, 120_000);
});

describe("PostgreSQL store when the server goes down between two queries of one read", () => {
  it("refuses the transactions of a session with storage_unavailable when the server goes after their list (not a raw pg error, which a caller takes for a bug)", async () => {
    const url = await postgres.createDatabase();
    const store = await createPostgresStore({ url, deployment, poolSize: 2, leaderRetryMs: 20 });
    try {
      await store.ensureSession(1n, 100);
      await store.recordSubmission({
        kind: "final",
        nonce: 0,
        txHash: hash("0f"),
        rawTx: "0x01",
        entries: [{ jobId: 1n, cumulativeTokens: 2, tokensInBatch: 2 }],
      });
      // The server crashes once the list of transactions is read, before their entries are.
      const crash = interleaveAfter(/FROM submissions s JOIN submission_entries/, () => postgres.crash());
      const read = await Promise.resolve(store.submissionsOfJob(1n)).then(
        () => "read",
        (error: unknown) => error,
      );
      expect(crash.fired()).toBe(true);
      expect(read).toMatchObject({ code: "storage_unavailable", message: expect.stringMatching(/retry later/) });
    } finally {
      postgres.restart();
      await store.close();
    }
  }, 120_000);
});

describe("PostgreSQL locks when the lock connection is cut", () => {
  /** Locks over a connection that is still the current one, but dies under the lock's query (the loss is announced just after). */
  const dyingLocks = () => {
    const dying = { query: () => Promise.reject(new Error("Connection terminated unexpectedly")) } as unknown as pg.Client;
    const connection: LockConnection = {
      current: () => dying,
      lost: () => undefined,
      onLost: () => undefined,
      onRestored: () => undefined,
      query: (client, text, values) => client.query(text, values),
      end: async () => undefined,
    };
    return createPostgresLocks({ connection, leaderRetryMs: 10 });
  };

  it("refuses a lock whose query the cut interrupts with storage_unavailable (a retryable 503), not an error the client sees as a 500", async () => {
    const locks = dyingLocks();
    await expect(locks.chainWriter()).rejects.toMatchObject({ code: "storage_unavailable", message: expect.stringMatching(/retry later/) });
    await expect(locks.session(1n)).rejects.toMatchObject({ code: "storage_unavailable" });
  });

  it("refuses a session's turn whose lock the cut interrupts in one sentence: 'storage unavailable' and 'retry later' said once, the code and status unchanged", async () => {
    const locks = dyingLocks();
    // Only the store's locks are reached before the turn is held.
    const turns = createSessionTurns({
      store: { locks } as Store,
      exposure: { refusal: () => undefined, unsignedLimit: () => 100 },
      refuse: () => undefined as never,
    });
    await expect(turns.acquire(7n)).rejects.toMatchObject({
      code: "storage_unavailable",
      status: 503,
      message: "storage unavailable: cannot take session 7's turn: the PostgreSQL lock connection failed (Connection terminated unexpectedly); retry later",
    });
  });
});
