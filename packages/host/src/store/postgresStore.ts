import pg from "pg";
import type { Hex } from "viem";
import { emptyTranscriptHash } from "@session-jobs/protocol";
import { HostError, recordedAlready, servedElsewhere, storageUnavailable } from "../errors.ts";
import { exchangeColumns, exchangeValues, postgresSpelling } from "./exchangeRow.ts";
import { openLockConnection, type LockConnection } from "./lockConnection.ts";
import { applyServerKeepAlive, connectionOptions, hostApplicationPrefix, isQueryTimeout, postgresTimeouts, type HeartbeatTimes } from "./postgresConnection.ts";
import { isServerFault } from "./postgresFaults.ts";
import { createPostgresLocks, receiptChannel } from "./postgresLocks.ts";
import { preparePostgresSchemaAt } from "./postgresSchema.ts";
import type {
  Exchange,
  SessionState,
  Store,
  StoreDeployment,
  StoredExchange,
  StoredReceipt,
  Submission,
  SubmissionKind,
  SubmissionStatus,
} from "./storeTypes.ts";

type Query = Pick<pg.ClientBase, "query">;
type Row = Record<string, unknown>;

/**
 * The database's clock, in ms since the epoch: the closing lease is set and judged on it, one clock
 * for every process whatever the skew between their machines (`clock_timestamp()`: the time of the
 * statement, not of its transaction's start).
 */
const databaseNowMs = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
/** A session's row and whether its close's lease holds, judged on the database's clock as the row is read. */
const sessionColumns = `*, closing_until_ms > ${databaseNowMs} AS closing_held`;

export type PostgresStoreParameters = {
  /** `postgres://user:password@host:port/database` (`?host=/socket/dir` for a Unix socket). */
  url: string;
  deployment: StoreDeployment;
  /** Connections this process may open for queries (one more is held for its locks). */
  poolSize?: number;
  /** How long making a connection may take before it fails (ms; default 10 s): a server that accepts but never answers must not hang the host. */
  connectTimeoutMs?: number;
  /**
   * How long a query on a pooled connection may wait for its answer before it fails as
   * `storage_unavailable` (ms; default 15 s): a network partition in the middle of a query must
   * not hang the request or the proof waiting on it. Not the schema's set-up, which may be long.
   */
  queryTimeoutMs?: number;
  /** The lock connection's heartbeat (tests shorten it; see {@link postgresTimeouts} for why the default is safe). */
  heartbeat?: HeartbeatTimes;
  /** How often a process that does not submit proofs tries to take over, and a lost lock connection is made anew (ms). */
  leaderRetryMs?: number;
  /** This process's clock (ms) for the times it records; not for the closing lease, which is on the database's clock. */
  now?: () => number;
  onFault?: (fault: string) => void;
  /** The fault ended: a new lock connection was made after a loss. */
  onRecovered?: () => void;
};

/**
 * The store in PostgreSQL, shared by every host process of one host key. Each write that a client
 * or the chain relies on is one transaction that first locks the session's row
 * (`SELECT … FOR UPDATE`), so that two processes never interleave on one session; exchanges,
 * receipts and transactions commit with `synchronous_commit = on` whatever the server's default,
 * before the caller answers. A sequence number commits without waiting for the flush (as in
 * SQLite): the exchange that follows flushes it.
 */
export async function createPostgresStore(parameters: PostgresStoreParameters): Promise<Store> {
  const now = parameters.now ?? Date.now;
  const applicationName = `${hostApplicationPrefix}${process.pid}`;
  const connectTimeoutMs = parameters.connectTimeoutMs ?? 10_000;
  const pool = new pg.Pool({
    connectionString: parameters.url,
    max: parameters.poolSize ?? 10,
    application_name: applicationName,
    ...connectionOptions({ connectTimeoutMs, queryTimeoutMs: parameters.queryTimeoutMs ?? defaultQueryTimeoutMs }),
    // pg-pool awaits this hook before handing the connection out (its typings say void).
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    onConnect: applyServerKeepAlive,
  });
  let fault: string | undefined;
  let closing = false;
  // An idle pooled connection that drops is replaced by the pool.
  pool.on("error", () => undefined);
  let locks: LockConnection;
  try {
    locks = await openLockConnection({
      url: parameters.url,
      applicationName: `${applicationName} locks`,
      retryMs: parameters.leaderRetryMs ?? 2_000,
      connectTimeoutMs,
      heartbeat: parameters.heartbeat ?? postgresTimeouts.heartbeat,
    });
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  try {
    await preparePostgresSchemaAt(parameters.url, { applicationName, connectTimeoutMs }, parameters.deployment);
  } catch (error) {
    closing = true;
    await locks.end();
    await pool.end().catch(() => undefined);
    throw error;
  }
  // Losing the lock connection loses this process's locks: new work is refused until a new one is made.
  locks.onLost((reason) => {
    if (fault || closing) return;
    fault = reason;
    parameters.onFault?.(reason);
  });
  locks.onRestored(() => {
    if (!fault || closing) return;
    fault = undefined;
    parameters.onRecovered?.();
  });

  const unavailable = (error: unknown, connectionBroken = false): never => {
    if (error instanceof HostError) throw error;
    if (isServerFault(error, connectionBroken)) throw storageUnavailable(`PostgreSQL ${(error as Error).message}`, error);
    throw error;
  };
  /** Reads outside a transaction, each query on whichever pooled connection is free. */
  const onPool = async <T>(work: (query: Query) => Promise<T>): Promise<T> => {
    try {
      return await work(pool);
    } catch (error) {
      return unavailable(error);
    }
  };
  const read = <T extends Row>(text: string, values: unknown[] = []): Promise<T[]> => onPool(async (query) => (await query.query<T>(text, values)).rows);
  /** One transaction on one pooled connection, opened by the statements `begin`. */
  const inTransaction = async <T>(begin: readonly string[], work: (query: Query) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      return unavailable(error);
    }
    // A checked-out client has no pool listener: its connection dying (a restart, pg_terminate_backend) emits
    // 'error' here, which unheard would end the process. The transaction fails instead, and the client is dropped.
    let broken: Error | undefined;
    const onError = (error: Error) => void (broken ??= error);
    client.on("error", onError);
    try {
      for (const statement of begin) await client.query(statement);
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      // A query given up on leaves the connection busy with it: a ROLLBACK would wait behind it.
      if (isQueryTimeout(error)) broken ??= error as Error;
      else await client.query("ROLLBACK").catch((rollback: Error) => void (broken ??= rollback));
      return unavailable(error, broken !== undefined);
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  };
  /** A write; `durable` ones wait for the WAL flush at commit. */
  const transaction = <T>(durable: boolean, work: (query: Query) => Promise<T>): Promise<T> =>
    inTransaction(["BEGIN", `SET LOCAL synchronous_commit = ${durable ? "on" : "off"}`], work);
  /**
   * Reads that must agree with each other: every query of a REPEATABLE READ transaction sees the
   * database as of its first, whatever other processes commit meanwhile.
   */
  const snapshot = <T>(work: (query: Query) => Promise<T>): Promise<T> => inTransaction(["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"], work);
  const lockSession = (query: Query, jobId: string) => query.query<{ closed: boolean }>("SELECT closed FROM sessions WHERE job_id = $1 FOR UPDATE", [jobId]);

  /** Keeps what a dispute or an audit needs of a settled session: see the SQLite store. */
  const closeAndForget = async (query: Query, jobId: string) => {
    await query.query("UPDATE sessions SET closed = true WHERE job_id = $1", [jobId]);
    await query.query(
      "UPDATE exchanges SET request_body = NULL, request_signature = NULL, response_text = NULL WHERE job_id = $1 AND request_body IS NOT NULL",
      [jobId],
    );
    await query.query("DELETE FROM exchanges WHERE job_id = $1 AND id < (SELECT max(id) FROM exchanges WHERE job_id = $1)", [jobId]);
    await query.query("DELETE FROM receipts WHERE job_id = $1 AND cumulative_tokens < (SELECT max(cumulative_tokens) FROM receipts WHERE job_id = $1)", [
      jobId,
    ]);
  };

  const submissionOf = async (query: Query, row: Row): Promise<Submission> => {
    const { rows } = await query.query<Row>(
      "SELECT job_id, cumulative_tokens, tokens_in_batch FROM submission_entries WHERE submission_id = $1 ORDER BY job_id",
      [row.id],
    );
    return {
      id: Number(row.id),
      kind: row.kind as SubmissionKind,
      status: row.status as SubmissionStatus,
      nonce: Number(row.nonce),
      txHash: row.tx_hash as Hex,
      rawTx: row.raw_tx as Hex,
      error: (row.error as string | null) ?? null,
      entries: rows.map((entry: Row) => ({
        jobId: BigInt(entry.job_id as string),
        cumulativeTokens: Number(entry.cumulative_tokens),
        tokensInBatch: Number(entry.tokens_in_batch),
      })),
    };
  };
  // The entries are read on the pool too: a server gone between the two reads is storage_unavailable, not a raw pg error.
  const submissions = async (text: string, values: unknown[] = []) =>
    onPool(async (query) => Promise.all((await query.query<Row>(text, values)).rows.map((row) => submissionOf(query, row))));
  const sessions = async (text: string) => (await read(text)).map(toSession);

  const store: Store = {
    kind: "postgres",
    locks: createPostgresLocks({ connection: locks, leaderRetryMs: parameters.leaderRetryMs ?? 2_000 }),

    session: (jobId) => onPool((query) => sessionOf(query, jobId)),

    ensureSession: (jobId, checkpointInterval) =>
      transaction(false, async (query) => {
        await query.query(
          "INSERT INTO sessions (job_id, transcript_hash, checkpoint_interval, last_activity_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (job_id) DO NOTHING",
          [jobId.toString(), emptyTranscriptHash, checkpointInterval, now()],
        );
        const { rows } = await query.query<Row>(`UPDATE sessions SET checkpoint_interval = $2 WHERE job_id = $1 RETURNING ${sessionColumns}`, [
          jobId.toString(),
          checkpointInterval,
        ]);
        return toSession(rows[0]!);
      }),

    claimSequence: (jobId, sequence) =>
      transaction(false, async (query) => {
        const result = await query.query("UPDATE sessions SET last_sequence = $2, last_activity_ms = $3 WHERE job_id = $1 AND last_sequence < $2", [
          jobId.toString(),
          sequence.toString(),
          now(),
        ]);
        return result.rowCount === 1;
      }),

    appendExchange: (exchange) =>
      transaction(true, async (query) => {
        const jobId = exchange.jobId.toString();
        await lockSession(query, jobId);
        // Only on the transcript it was served on: two processes each sure of the session's turn (a
        // lock connection lost meanwhile) cannot fork it, whatever their timing.
        const moved = await query.query(
          "UPDATE sessions SET served_tokens = $2, transcript_hash = $3, last_activity_ms = $4 WHERE job_id = $1 AND transcript_hash = $5",
          [jobId, exchange.cumulativeTokens, exchange.transcriptHash, now(), exchange.previousTranscriptHash],
        );
        if (moved.rowCount !== 1) throw servedElsewhere(exchange.jobId);
        await query.query(
          `INSERT INTO exchanges (${exchangeColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          exchangeValues(exchange, now(), postgresSpelling),
        );
      }),

    async exchangesAt(jobId, cumulativeTokens) {
      return (await read("SELECT * FROM exchanges WHERE job_id = $1 AND cumulative_tokens = $2 ORDER BY id", [jobId.toString(), cumulativeTokens])).map(
        toExchange,
      );
    },

    lastExchange: (jobId) => onPool((query) => lastExchange(query, jobId)),

    sessionWithLastExchange: (jobId) =>
      snapshot(async (query) => {
        const state = await sessionOf(query, jobId);
        return state && { state, lastExchange: await lastExchange(query, jobId) };
      }),

    storeReceipt: (receipt) =>
      transaction(true, async (query) => {
        const jobId = receipt.jobId.toString();
        const [session] = (await lockSession(query, jobId)).rows;
        const inserted = await query.query(
          "INSERT INTO receipts (job_id, cumulative_tokens, transcript_hash, signature, received_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
          [jobId, receipt.cumulativeTokens, receipt.transcriptHash, receipt.signature, now()],
        );
        await query.query("UPDATE sessions SET signed_tokens = GREATEST(signed_tokens, $2) WHERE job_id = $1", [jobId, receipt.cumulativeTokens]);
        // What the receipt before the newest covers goes; what the newest alone covers stays for a sync (see the SQLite store).
        await query.query(
          `UPDATE exchanges SET request_body = NULL, request_signature = NULL, response_text = NULL WHERE job_id = $1 AND request_body IS NOT NULL
             AND id <= (SELECT max(e.id) FROM exchanges e
               JOIN (SELECT cumulative_tokens, transcript_hash FROM receipts WHERE job_id = $1 ORDER BY cumulative_tokens DESC LIMIT 1 OFFSET 1) r
               ON e.cumulative_tokens = r.cumulative_tokens AND e.transcript_hash = r.transcript_hash WHERE e.job_id = $1)`,
          [jobId],
        );
        if (session?.closed === true)
          await query.query("DELETE FROM receipts WHERE job_id = $1 AND cumulative_tokens < (SELECT max(cumulative_tokens) FROM receipts WHERE job_id = $1)", [
            jobId,
          ]);
        if (inserted.rowCount === 1) await query.query("SELECT pg_notify($1, $2)", [receiptChannel, jobId]);
        return inserted.rowCount === 1;
      }),

    exchangesAfter: (jobId, after) => onPool((query) => exchangesAfter(query, jobId, after)),
    newestReceipt: (jobId) => onPool((query) => newestReceipt(query, jobId)),

    syncSnapshot: (jobId) =>
      snapshot(async (query) => {
        const state = await sessionOf(query, jobId);
        if (!state) return undefined;
        return { state, receipt: await newestReceipt(query, jobId), exchanges: await exchangesAfter(query, jobId, undefined) };
      }),

    async setProvenTokens(jobId, provenTokens) {
      await transaction(true, (query) =>
        query.query("UPDATE sessions SET proven_tokens = GREATEST(proven_tokens, $2) WHERE job_id = $1", [jobId.toString(), provenTokens]),
      );
    },

    async markClosing(jobId, leaseMs, lease) {
      await transaction(true, (query) =>
        query.query(`UPDATE sessions SET closing_until_ms = ${databaseNowMs} + $2, closing_lease = $3 WHERE job_id = $1`, [
          jobId.toString(),
          Math.ceil(leaseMs),
          lease,
        ]),
      );
    },

    async clearClosing(jobId, lease) {
      await transaction(true, (query) =>
        query.query("UPDATE sessions SET closing_until_ms = 0, closing_lease = NULL WHERE job_id = $1 AND closing_lease = $2", [jobId.toString(), lease]),
      );
    },

    markClosed: (jobId) =>
      transaction(true, async (query) => {
        await lockSession(query, jobId.toString());
        await closeAndForget(query, jobId.toString());
      }),

    markRefused: (jobId) =>
      transaction(true, async (query) => {
        await lockSession(query, jobId.toString());
        await closeAndForget(query, jobId.toString());
        await query.query("UPDATE sessions SET settlement_due = true WHERE job_id = $1", [jobId.toString()]);
      }),

    settlementsDue: async () =>
      (await read<{ job_id: string }>("SELECT job_id FROM sessions WHERE settlement_due ORDER BY job_id")).map((row) => BigInt(row.job_id)),

    async clearSettlementDue(jobId) {
      await transaction(true, (query) => query.query("UPDATE sessions SET settlement_due = false WHERE job_id = $1", [jobId.toString()]));
    },

    async unsignedBytes(jobId) {
      const [row] = await read(
        `SELECT sum(length(request_body) + octet_length(response_text)) AS bytes FROM exchanges WHERE job_id = $1 AND request_body IS NOT NULL
           AND id > coalesce((SELECT max(e.id) FROM exchanges e
             JOIN (SELECT cumulative_tokens, transcript_hash FROM receipts WHERE job_id = $1 ORDER BY cumulative_tokens DESC LIMIT 1) r
             ON e.cumulative_tokens = r.cumulative_tokens AND e.transcript_hash = r.transcript_hash WHERE e.job_id = $1), 0)`,
        [jobId.toString()],
      );
      return Number(row?.bytes ?? 0);
    },

    async syncBytes(jobId) {
      const [row] = await read(
        "SELECT sum(length(request_body) + octet_length(response_text)) AS bytes FROM exchanges WHERE job_id = $1 AND request_body IS NOT NULL",
        [jobId.toString()],
      );
      return Number(row?.bytes ?? 0);
    },

    sessionsWithUnprovenReceipts: () => sessions(`SELECT ${sessionColumns} FROM sessions WHERE NOT closed AND signed_tokens > proven_tokens ORDER BY job_id`),
    openSessions: () => sessions(`SELECT ${sessionColumns} FROM sessions WHERE NOT closed ORDER BY job_id`),

    async unprovenSignedTokens() {
      const [row] = await read("SELECT sum(signed_tokens - proven_tokens) AS total FROM sessions WHERE NOT closed AND signed_tokens > proven_tokens");
      return Number(row?.total ?? 0);
    },

    recordSubmission: (submission) =>
      transaction(true, async (query) => {
        const { rows } = await query.query<Row>(
          `INSERT INTO submissions (kind, status, nonce, tx_hash, raw_tx, created_ms, updated_ms) VALUES ($1, 'signed', $2, $3, $4, $5, $5)
           ON CONFLICT (tx_hash) DO UPDATE SET status = 'signed', error = NULL, updated_ms = EXCLUDED.updated_ms WHERE submissions.status = 'dropped'
           RETURNING id`,
          [submission.kind, submission.nonce, submission.txHash, submission.rawTx, now()],
        );
        if (!rows[0]) throw recordedAlready(submission.txHash);
        const id = Number(rows[0].id);
        await query.query("DELETE FROM submission_entries WHERE submission_id = $1", [id]);
        for (const entry of submission.entries)
          await query.query("INSERT INTO submission_entries (submission_id, job_id, cumulative_tokens, tokens_in_batch) VALUES ($1, $2, $3, $4)", [
            id,
            entry.jobId.toString(),
            entry.cumulativeTokens,
            entry.tokensInBatch,
          ]);
        return id;
      }),

    setSubmissionStatus: (id, status, error) =>
      transaction(true, async (query) => {
        const { rows } = await query.query<Row>("UPDATE submissions SET status = $2, error = $3, updated_ms = $4 WHERE id = $1 RETURNING *", [
          id,
          status,
          error ?? null,
          now(),
        ]);
        const submission = await submissionOf(query, rows[0]!);
        if (status === "confirmed") {
          const settles = submission.kind === "final" || submission.kind === "complete" || submission.kind === "claim";
          for (const entry of submission.entries) {
            const jobId = entry.jobId.toString();
            await lockSession(query, jobId);
            await query.query("UPDATE sessions SET proven_tokens = GREATEST(proven_tokens, $2) WHERE job_id = $1", [jobId, entry.cumulativeTokens]);
            if (settles) await closeAndForget(query, jobId);
          }
        }
        return submission;
      }),

    submission: async (id) => (await submissions("SELECT * FROM submissions WHERE id = $1", [id]))[0],

    pendingSubmissions: () => submissions("SELECT * FROM submissions WHERE status IN ('signed', 'sent') ORDER BY nonce"),
    submissionsOfJob: (jobId) =>
      submissions("SELECT s.* FROM submissions s JOIN submission_entries e ON e.submission_id = s.id WHERE e.job_id = $1 ORDER BY s.id", [jobId.toString()]),

    fault: () => fault,

    // A durable write is visible to other transactions only once its commit is flushed (synchronous_commit = on): nothing to
    // wait for. A sequence (synchronous_commit = off) may show before it is flushed, as it always could.
    synced: () => undefined,

    assertWritable() {
      if (fault) throw storageUnavailable(`${fault}; reconnecting`);
    },

    async close() {
      if (closing) return;
      closing = true;
      await locks.end();
      await pool.end().catch(() => undefined);
    },
  };
  return store;
}

/** What a pooled query may wait for its answer, unless configured (`storeQueryTimeoutMs`). */
export const defaultQueryTimeoutMs = 15_000;

async function sessionOf(query: Query, jobId: bigint): Promise<SessionState | undefined> {
  const [row] = (await query.query<Row>(`SELECT ${sessionColumns} FROM sessions WHERE job_id = $1`, [jobId.toString()])).rows;
  return row && toSession(row);
}

async function lastExchange(query: Query, jobId: bigint): Promise<Exchange | undefined> {
  const [row] = (await query.query<Row>("SELECT * FROM exchanges WHERE job_id = $1 ORDER BY id DESC LIMIT 1", [jobId.toString()])).rows;
  return row && toExchange(row);
}

async function newestReceipt(query: Query, jobId: bigint): Promise<StoredReceipt | undefined> {
  const [row] = (await query.query<Row>("SELECT * FROM receipts WHERE job_id = $1 ORDER BY cumulative_tokens DESC LIMIT 1", [jobId.toString()])).rows;
  return (
    row && {
      jobId,
      cumulativeTokens: Number(row.cumulative_tokens),
      transcriptHash: row.transcript_hash as Hex,
      signature: row.signature as Hex,
      receivedMs: Number(row.received_ms),
    }
  );
}

async function exchangesAfter(query: Query, jobId: bigint, after: { cumulativeTokens: number; transcriptHash: Hex } | undefined): Promise<StoredExchange[]> {
  const id = jobId.toString();
  const from = after
    ? ((
        await query.query<Row>("SELECT max(id) AS id FROM exchanges WHERE job_id = $1 AND cumulative_tokens = $2 AND transcript_hash = $3", [
          id,
          after.cumulativeTokens,
          after.transcriptHash,
        ])
      ).rows[0]?.id ?? 0)
    : 0;
  const { rows } = await query.query<Row>("SELECT * FROM exchanges WHERE job_id = $1 AND id > $2 AND request_body IS NOT NULL ORDER BY id", [id, from]);
  return rows.map((row): StoredExchange => ({
    ...toExchange(row),
    previousTranscriptHash: row.previous_transcript_hash as Hex,
    requestBody: new Uint8Array(row.request_body as Buffer),
    requestSignature: row.request_signature as Hex,
    responseText: (row.response_text as Buffer).toString("utf8"),
  }));
}

function toSession(row: Row): SessionState {
  return {
    jobId: BigInt(row.job_id as string),
    lastSequence: BigInt(row.last_sequence as string),
    servedTokens: Number(row.served_tokens),
    transcriptHash: row.transcript_hash as Hex,
    signedTokens: Number(row.signed_tokens),
    provenTokens: Number(row.proven_tokens),
    checkpointInterval: Number(row.checkpoint_interval),
    lastActivityMs: Number(row.last_activity_ms),
    closed: row.closed === true,
    closing: row.closing_held === true,
  };
}

function toExchange(row: Row): Exchange {
  return {
    jobId: BigInt(row.job_id as string),
    sequence: BigInt(row.sequence as string),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    cumulativeTokens: Number(row.cumulative_tokens),
    transcriptHash: row.transcript_hash as Hex,
    aborted: row.aborted === true,
  };
}
