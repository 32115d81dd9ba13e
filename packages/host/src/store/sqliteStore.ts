import { existsSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import Database from "better-sqlite3";
import type { Hex } from "viem";
import { emptyTranscriptHash } from "@session-jobs/protocol";
import { HostError, HostLockError, recordedAlready, servedElsewhere } from "../errors.ts";
import { exchangeColumns, exchangeValues, sqliteSpelling, type ExchangeValues } from "./exchangeRow.ts";
import { createGroupCommit, type WriteDurability } from "./groupCommit.ts";
import { deploymentMeta, deploymentMismatch } from "./storeDeployment.ts";
import { createStorageHealth } from "./storeHealth.ts";
import { migratedError, readMigrationMark } from "./migrationMark.ts";
import { openWalSync, type Datasync } from "./walSync.ts";
import type {
  Exchange,
  SessionState,
  Store,
  StoreDeployment,
  StoredExchange,
  StoredReceipt,
  StoreLocks,
  Submission,
  SubmissionEntry,
  SubmissionKind,
  SubmissionStatus,
  SyncSnapshot,
} from "./storeTypes.ts";

export type SqliteStore = ReturnType<typeof createStore>;

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  job_id TEXT PRIMARY KEY,
  last_sequence TEXT NOT NULL DEFAULT '0',
  served_tokens INTEGER NOT NULL DEFAULT 0,
  transcript_hash TEXT NOT NULL,
  signed_tokens INTEGER NOT NULL DEFAULT 0,
  proven_tokens INTEGER NOT NULL DEFAULT 0,
  checkpoint_interval INTEGER NOT NULL,
  last_activity_ms INTEGER NOT NULL,
  closed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS exchanges (
  job_id TEXT NOT NULL,
  sequence TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cumulative_tokens INTEGER NOT NULL,
  transcript_hash TEXT NOT NULL,
  aborted INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  previous_transcript_hash TEXT,
  request_body BLOB,
  request_signature TEXT,
  response_text TEXT,
  PRIMARY KEY (job_id, sequence)
);
CREATE INDEX IF NOT EXISTS exchanges_by_count ON exchanges(job_id, cumulative_tokens);
CREATE TABLE IF NOT EXISTS receipts (
  job_id TEXT NOT NULL,
  cumulative_tokens INTEGER NOT NULL,
  transcript_hash TEXT NOT NULL,
  signature TEXT NOT NULL,
  received_ms INTEGER NOT NULL,
  PRIMARY KEY (job_id, cumulative_tokens)
);
CREATE TABLE IF NOT EXISTS submissions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  nonce INTEGER NOT NULL,
  tx_hash TEXT NOT NULL UNIQUE,
  raw_tx TEXT NOT NULL,
  error TEXT,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS submission_entries (
  submission_id INTEGER NOT NULL REFERENCES submissions(id),
  job_id TEXT NOT NULL,
  cumulative_tokens INTEGER NOT NULL,
  tokens_in_batch INTEGER NOT NULL,
  PRIMARY KEY (submission_id, job_id)
);
CREATE INDEX IF NOT EXISTS submissions_by_status ON submissions(status);
-- A session's proof submissions are looked up at each receipt: without it, every entry ever written is read.
CREATE INDEX IF NOT EXISTS submission_entries_by_job ON submission_entries(job_id);
`;

type SessionRow = {
  job_id: string;
  last_sequence: string;
  served_tokens: number;
  transcript_hash: Hex;
  signed_tokens: number;
  proven_tokens: number;
  checkpoint_interval: number;
  last_activity_ms: number;
  closed: number;
  closing_until_ms: number;
  closing_lease: string | null;
  settlement_due: number;
};

type SubmissionRow = { id: number; kind: SubmissionKind; status: SubmissionStatus; nonce: number; tx_hash: Hex; raw_tx: Hex; error: string | null };

/**
 * The node's durable memory in SQLite (WAL; commits with synchronous=NORMAL, made durable by an
 * fdatasync of the WAL off the event loop before their callers hear of them): sessions, exchanges
 * (cumulative count → transcript hash), signed receipts and proof transactions. Every write that
 * a client or the chain may later rely on is on disk before the caller answers anyone.
 */
export function createStore(parameters: {
  path: string;
  deployment: StoreDeployment;
  /** The store's clock (ms): the times it records and the closing lease. Default `Date.now`; tests move it forward. */
  now?: () => number;
  onFault?: (fault: string) => void;
  /** Told of each committed group of writes, with its size (metrics). */
  onCommit?: (writes: number) => void;
  /** How the WAL is synced (tests: a disk whose sync fails or waits). Default fdatasync in libuv's thread pool. */
  datasync?: Datasync;
  /** When a group of durable writes is committed (tests: by hand). Default at the end of its turn of the event loop. */
  schedule?: (flush: () => void) => void;
}) {
  const now = parameters.now ?? Date.now;
  const lock = lockDatabase(parameters.path);
  let db: Database.Database | undefined;
  let wal: ReturnType<typeof openWalSync> | undefined;
  try {
    db = openDatabase(parameters.path, parameters.deployment);
    // After openDatabase's first statements the WAL exists (an in-memory database has none, and nothing to sync).
    if (!inMemory(parameters.path)) wal = openWalSync(databaseFile(db), parameters.datasync);
  } catch (error) {
    db?.close();
    lock?.close();
    throw error;
  }
  const health = createStorageHealth({ db, path: parameters.path, onFault: parameters.onFault, onClosed: () => lock?.close() });
  /** A write that fails for want of storage (disk full, I/O error, read-only file) is a storage fault, answered with 503. */
  const asStorageFault = (error: unknown): unknown =>
    error instanceof Database.SqliteError && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB)/.test(error.code) ? health.writeFailed(error) : error;
  const group = createGroupCommit({
    db,
    commitFailed: asStorageFault,
    sync: wal ? wal.sync : () => Promise.resolve(),
    // A failed fsync may have dropped the pages it could not write: never retried, never trusted again.
    syncFailed: (error) => health.writeFailed(error),
    ...(parameters.onCommit && { onCommit: parameters.onCommit }),
    ...(parameters.schedule && { schedule: parameters.schedule }),
  });
  /**
   * A write committed through store/groupCommit.ts: a durable one with the others of its turn of
   * the event loop, its promise resolved once their transaction is on disk; a `flushedLater` one at
   * once, alone, resolved at its COMMIT. Either rejects alone when it fails.
   */
  const grouped =
    <A extends unknown[], R>(durability: WriteDurability, write: (...args: A) => R) =>
    (...args: A): Promise<R> =>
      group.write(() => {
        try {
          return write(...args);
        } catch (error) {
          throw asStorageFault(error);
        }
      }, durability);

  const statements = {
    session: db.prepare<[string], SessionRow>("SELECT * FROM sessions WHERE job_id = ?"),
    insertSession: db.prepare<[string, Hex, number, number]>(
      "INSERT OR IGNORE INTO sessions (job_id, transcript_hash, checkpoint_interval, last_activity_ms) VALUES (?, ?, ?, ?)",
    ),
    setInterval: db.prepare<[number, string]>("UPDATE sessions SET checkpoint_interval = ? WHERE job_id = ?"),
    setSequence: db.prepare<[string, number, string]>("UPDATE sessions SET last_sequence = ?, last_activity_ms = ? WHERE job_id = ?"),
    insertExchange: db.prepare<ExchangeValues<number, string>>(`INSERT INTO exchanges (${exchangeColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    exchangeRowid: db.prepare<[string, number, Hex], { rowid: number }>(
      "SELECT rowid FROM exchanges WHERE job_id = ? AND cumulative_tokens = ? AND transcript_hash = ? ORDER BY rowid DESC LIMIT 1",
    ),
    exchangesAfter: db.prepare<[string, number], StoredExchangeRow>(
      "SELECT * FROM exchanges WHERE job_id = ? AND rowid > ? AND request_body IS NOT NULL ORDER BY rowid",
    ),
    forgetRequests: db.prepare<[string, number]>(
      "UPDATE exchanges SET request_body = NULL, request_signature = NULL, response_text = NULL WHERE job_id = ? AND rowid <= ? AND request_body IS NOT NULL",
    ),
    keptBytes: db.prepare<[string], { bytes: number | null }>(
      "SELECT sum(length(request_body) + length(CAST(response_text AS BLOB))) AS bytes FROM exchanges WHERE job_id = ? AND request_body IS NOT NULL",
    ),
    unsignedBytes: db.prepare<[string, number], { bytes: number | null }>(
      "SELECT sum(length(request_body) + length(CAST(response_text AS BLOB))) AS bytes FROM exchanges WHERE job_id = ? AND rowid > ? AND request_body IS NOT NULL",
    ),
    setServed: db.prepare<[number, Hex, number, string, Hex]>(
      "UPDATE sessions SET served_tokens = ?, transcript_hash = ?, last_activity_ms = ? WHERE job_id = ? AND transcript_hash = ?",
    ),
    exchangesAt: db.prepare<[string, number], ExchangeRow>("SELECT * FROM exchanges WHERE job_id = ? AND cumulative_tokens = ? ORDER BY rowid"),
    lastExchange: db.prepare<[string], ExchangeRow>("SELECT * FROM exchanges WHERE job_id = ? ORDER BY rowid DESC LIMIT 1"),
    insertReceipt: db.prepare<[string, number, Hex, Hex, number]>(
      "INSERT OR IGNORE INTO receipts (job_id, cumulative_tokens, transcript_hash, signature, received_ms) VALUES (?, ?, ?, ?, ?)",
    ),
    setSigned: db.prepare<[number, string]>("UPDATE sessions SET signed_tokens = max(signed_tokens, ?) WHERE job_id = ?"),
    newestReceipt: db.prepare<[string], ReceiptRow>("SELECT * FROM receipts WHERE job_id = ? ORDER BY cumulative_tokens DESC LIMIT 1"),
    previousReceipt: db.prepare<[string], ReceiptRow>("SELECT * FROM receipts WHERE job_id = ? ORDER BY cumulative_tokens DESC LIMIT 1 OFFSET 1"),
    setProven: db.prepare<[number, string]>("UPDATE sessions SET proven_tokens = max(proven_tokens, ?) WHERE job_id = ?"),
    setClosed: db.prepare<[string]>("UPDATE sessions SET closed = 1 WHERE job_id = ?"),
    setClosing: db.prepare<[number, string, string]>("UPDATE sessions SET closing_until_ms = ?, closing_lease = ? WHERE job_id = ?"),
    clearClosing: db.prepare<[string, string]>("UPDATE sessions SET closing_until_ms = 0, closing_lease = NULL WHERE job_id = ? AND closing_lease = ?"),
    setSettlementDue: db.prepare<[number, string]>("UPDATE sessions SET settlement_due = ? WHERE job_id = ?"),
    settlementsDue: db.prepare<[], { job_id: string }>("SELECT job_id FROM sessions WHERE settlement_due = 1 ORDER BY length(job_id), job_id"),
    pruneExchanges: db.prepare<[string, string]>("DELETE FROM exchanges WHERE job_id = ? AND rowid < (SELECT max(rowid) FROM exchanges WHERE job_id = ?)"),
    pruneReceipts: db.prepare<[string, string]>(
      "DELETE FROM receipts WHERE job_id = ? AND cumulative_tokens < (SELECT max(cumulative_tokens) FROM receipts WHERE job_id = ?)",
    ),
    unproven: db.prepare<[], SessionRow>("SELECT * FROM sessions WHERE closed = 0 AND signed_tokens > proven_tokens ORDER BY job_id"),
    openSessions: db.prepare<[], SessionRow>("SELECT * FROM sessions WHERE closed = 0"),
    unprovenTotal: db.prepare<[], { total: number | null }>(
      "SELECT sum(signed_tokens - proven_tokens) AS total FROM sessions WHERE closed = 0 AND signed_tokens > proven_tokens",
    ),
    insertSubmission: db.prepare<[SubmissionKind, number, Hex, Hex, number, number], { id: number }>(
      `INSERT INTO submissions (kind, status, nonce, tx_hash, raw_tx, created_ms, updated_ms) VALUES (?, 'signed', ?, ?, ?, ?, ?)
       ON CONFLICT (tx_hash) DO UPDATE SET status = 'signed', error = NULL, updated_ms = excluded.updated_ms WHERE submissions.status = 'dropped'
       RETURNING id`,
    ),
    deleteEntries: db.prepare<[number]>("DELETE FROM submission_entries WHERE submission_id = ?"),
    insertEntry: db.prepare<[number, string, number, number]>(
      "INSERT INTO submission_entries (submission_id, job_id, cumulative_tokens, tokens_in_batch) VALUES (?, ?, ?, ?)",
    ),
    setSubmissionStatus: db.prepare<[SubmissionStatus, string | null, number, number]>(
      "UPDATE submissions SET status = ?, error = ?, updated_ms = ? WHERE id = ?",
    ),
    submission: db.prepare<[number], SubmissionRow>("SELECT * FROM submissions WHERE id = ?"),
    pendingSubmissions: db.prepare<[], SubmissionRow>("SELECT * FROM submissions WHERE status IN ('signed', 'sent') ORDER BY nonce"),
    entries: db.prepare<[number], EntryRow>("SELECT * FROM submission_entries WHERE submission_id = ?"),
    submissionsOfJob: db.prepare<[string], SubmissionRow>(
      "SELECT s.* FROM submissions s JOIN submission_entries e ON e.submission_id = s.id WHERE e.job_id = ? ORDER BY s.id",
    ),
  };

  const toSession = (row: SessionRow): SessionState => ({
    jobId: BigInt(row.job_id),
    lastSequence: BigInt(row.last_sequence),
    servedTokens: row.served_tokens,
    transcriptHash: row.transcript_hash,
    signedTokens: row.signed_tokens,
    provenTokens: row.proven_tokens,
    checkpointInterval: row.checkpoint_interval,
    lastActivityMs: row.last_activity_ms,
    closed: row.closed === 1,
    // One process, one clock: the lease is set and judged on it.
    closing: row.closing_until_ms > now(),
  });
  const toSubmission = (row: SubmissionRow): Submission => ({
    id: row.id,
    kind: row.kind,
    status: row.status,
    nonce: row.nonce,
    txHash: row.tx_hash,
    rawTx: row.raw_tx,
    error: row.error,
    entries: statements.entries
      .all(row.id)
      .map((entry) => ({ jobId: BigInt(entry.job_id), cumulativeTokens: entry.cumulative_tokens, tokensInBatch: entry.tokens_in_batch })),
  });

  /**
   * A settled session keeps what a dispute or an audit needs and nothing that grows per request:
   * its row (counts, closed), the last exchange (counts and transcript hash, no text), the newest
   * receipt (the depositor's signature over the final count) and its proof and settlement
   * transactions. Earlier exchanges and superseded receipts go (docs/design.md, "Storage").
   */
  const closeAndForget = (jobId: string) => {
    statements.setClosed.run(jobId);
    statements.forgetRequests.run(jobId, Number.MAX_SAFE_INTEGER);
    statements.pruneExchanges.run(jobId, jobId);
    statements.pruneReceipts.run(jobId, jobId);
  };

  const claimSequenceTransaction = db.transaction((jobId: bigint, sequence: bigint): boolean => {
    const row = statements.session.get(jobId.toString());
    if (!row || sequence <= BigInt(row.last_sequence)) return false;
    statements.setSequence.run(sequence.toString(), now(), jobId.toString());
    return true;
  });

  const createSession = grouped(
    "flushedLater",
    db.transaction((jobId: bigint, checkpointInterval: number): SessionState => {
      statements.insertSession.run(jobId.toString(), emptyTranscriptHash, checkpointInterval, now());
      statements.setInterval.run(checkpointInterval, jobId.toString());
      return { ...toSession(statements.session.get(jobId.toString())!), checkpointInterval };
    }),
  );

  const store = {
    kind: "sqlite" as const,
    locks: singleProcessLocks,
    /** The session's state, if the node has seen it. */
    session(jobId: bigint): SessionState | undefined {
      const row = statements.session.get(jobId.toString());
      return row && toSession(row);
    },

    /**
     * Creates the session's row on first contact; keeps the interval in step with the chain. A
     * session already known as the chain has it is only read (no write per request). The row is
     * committed at once and flushed to disk by the durable commit that follows (the exchange), like a sequence.
     */
    async ensureSession(jobId: bigint, checkpointInterval: number): Promise<SessionState> {
      const known = store.session(jobId);
      if (known?.checkpointInterval === checkpointInterval) return known;
      return createSession(jobId, checkpointInterval);
    },

    /**
     * Takes a request sequence number if it is higher than every one before (replay protection).
     * Committed at once, alone, and resolved at its COMMIT, without waiting for a sync or for the
     * other requests of its turn of the event loop: the request goes to the model as soon as its
     * own checks pass. The sync of the exchange record that follows makes it durable together with
     * the exchange, so a served request waits for at most one sync, not two. Only a power cut
     * during a request that ends in nothing billable can forget the sequence.
     */
    claimSequence: grouped("flushedLater", claimSequenceTransaction),

    /** Appends a served exchange; the session's count and transcript hash move with it. */
    appendExchange: grouped(
      "durable",
      db.transaction((exchange: StoredExchange): void => {
        const jobId = exchange.jobId.toString();
        // Only on the transcript it was served on (the PostgreSQL store's guard against a fork; here one process holds every turn).
        if (statements.setServed.run(exchange.cumulativeTokens, exchange.transcriptHash, now(), jobId, exchange.previousTranscriptHash).changes !== 1)
          throw servedElsewhere(exchange.jobId);
        statements.insertExchange.run(...exchangeValues(exchange, now(), sqliteSpelling));
      }),
    ),

    /** The exchanges after which the session stood at exactly `cumulativeTokens` (more than one only after a zero-token exchange). */
    exchangesAt(jobId: bigint, cumulativeTokens: number): Exchange[] {
      return statements.exchangesAt.all(jobId.toString(), cumulativeTokens).map(toExchange);
    },

    lastExchange(jobId: bigint): Exchange | undefined {
      const row = statements.lastExchange.get(jobId.toString());
      return row && toExchange(row);
    },

    /**
     * Stores a verified receipt durably; `false` if the same count was stored before. The requests
     * and answers that the receipt before the newest covers are dropped; those the newest alone
     * covers are kept for a client that signed for them and then lost its state (a sync shows them).
     */
    storeReceipt: grouped(
      "durable",
      db.transaction((receipt: Omit<StoredReceipt, "receivedMs">): boolean => {
        const jobId = receipt.jobId.toString();
        const inserted = statements.insertReceipt.run(jobId, receipt.cumulativeTokens, receipt.transcriptHash, receipt.signature, now()).changes === 1;
        statements.setSigned.run(receipt.cumulativeTokens, jobId);
        const previous = statements.previousReceipt.get(jobId);
        const covered = previous && statements.exchangeRowid.get(jobId, previous.cumulative_tokens, previous.transcript_hash);
        if (covered) statements.forgetRequests.run(jobId, covered.rowid);
        if (statements.session.get(jobId)?.closed === 1) statements.pruneReceipts.run(jobId, jobId);
        return inserted;
      }),
    ),

    /**
     * The exchanges after the one ending at `after` (all of them when `after` is undefined), with
     * their requests and answers, oldest first: what a client has not signed for.
     */
    exchangesAfter(jobId: bigint, after: { cumulativeTokens: number; transcriptHash: Hex } | undefined): StoredExchange[] {
      const from = after ? (statements.exchangeRowid.get(jobId.toString(), after.cumulativeTokens, after.transcriptHash)?.rowid ?? 0) : 0;
      return statements.exchangesAfter.all(jobId.toString(), from).map((row) => ({
        ...toExchange(row),
        previousTranscriptHash: row.previous_transcript_hash,
        requestBody: new Uint8Array(row.request_body),
        requestSignature: row.request_signature,
        responseText: row.response_text,
      }));
    },

    newestReceipt(jobId: bigint): StoredReceipt | undefined {
      const row = statements.newestReceipt.get(jobId.toString());
      return (
        row && { jobId, cumulativeTokens: row.cumulative_tokens, transcriptHash: row.transcript_hash, signature: row.signature, receivedMs: row.received_ms }
      );
    },

    /** Read as one snapshot, as {@link syncSnapshot} is. */
    sessionWithLastExchange(jobId: bigint): { state: SessionState; lastExchange: Exchange | undefined } | undefined {
      const state = store.session(jobId);
      return state && { state, lastExchange: store.lastExchange(jobId) };
    },

    /** The sync answer's reads as one snapshot: synchronous, so no commit (they run on this event loop) comes between them. */
    syncSnapshot(jobId: bigint): SyncSnapshot | undefined {
      const state = store.session(jobId);
      if (!state) return undefined;
      return { state, receipt: store.newestReceipt(jobId), exchanges: store.exchangesAfter(jobId, undefined) };
    },

    /** Records what the chain says is proven (never moves backwards). */
    setProvenTokens: grouped("durable", (jobId: bigint, provenTokens: number): void => {
      statements.setProven.run(provenTokens, jobId.toString());
    }),

    /** Marks a session settled; the requests and answers kept for a sync are dropped (nothing can be signed any more). */
    markClosed: grouped(
      "durable",
      db.transaction((jobId: bigint): void => closeAndForget(jobId.toString())),
    ),

    markRefused: grouped(
      "durable",
      db.transaction((jobId: bigint): void => {
        closeAndForget(jobId.toString());
        statements.setSettlementDue.run(1, jobId.toString());
      }),
    ),

    settlementsDue(): bigint[] {
      return statements.settlementsDue.all().map((row) => BigInt(row.job_id));
    },

    clearSettlementDue: grouped("durable", (jobId: bigint): void => void statements.setSettlementDue.run(0, jobId.toString())),

    markClosing: grouped(
      "flushedLater",
      (jobId: bigint, leaseMs: number, lease: string): void => void statements.setClosing.run(now() + leaseMs, lease, jobId.toString()),
    ),
    clearClosing: grouped("flushedLater", (jobId: bigint, lease: string): void => void statements.clearClosing.run(jobId.toString(), lease)),

    /** Bytes of requests and answers kept for exchanges no receipt covers yet. */
    unsignedBytes(jobId: bigint): number {
      const receipt = store.newestReceipt(jobId);
      const covered = receipt && statements.exchangeRowid.get(jobId.toString(), receipt.cumulativeTokens, receipt.transcriptHash);
      return statements.unsignedBytes.get(jobId.toString(), covered?.rowid ?? 0)?.bytes ?? 0;
    },

    /** Bytes of requests and answers kept for a sync: {@link unsignedBytes} and those the newest receipt alone covers. */
    syncBytes(jobId: bigint): number {
      return statements.keptBytes.get(jobId.toString())?.bytes ?? 0;
    },

    /** Open sessions holding signed receipts beyond what is proven. */
    sessionsWithUnprovenReceipts(): SessionState[] {
      return statements.unproven.all().map(toSession);
    },

    openSessions(): SessionState[] {
      return statements.openSessions.all().map(toSession);
    },

    unprovenSignedTokens(): number {
      return statements.unprovenTotal.get()?.total ?? 0;
    },

    /** Records a signed transaction before it is broadcast, so a crash can never send it twice unknowingly; see {@link Store.recordSubmission}. */
    recordSubmission: grouped(
      "durable",
      db.transaction((submission: { kind: SubmissionKind; nonce: number; txHash: Hex; rawTx: Hex; entries: SubmissionEntry[] }): number => {
        const row = statements.insertSubmission.get(submission.kind, submission.nonce, submission.txHash, submission.rawTx, now(), now());
        if (!row) throw recordedAlready(submission.txHash);
        const id = row.id;
        statements.deleteEntries.run(id);
        for (const entry of submission.entries) statements.insertEntry.run(id, entry.jobId.toString(), entry.cumulativeTokens, entry.tokensInBatch);
        return id;
      }),
    ),

    /** Moves a submission on; a confirmed one advances its sessions' proven counts (and closes them at settlement). */
    setSubmissionStatus: grouped(
      "durable",
      db.transaction((id: number, status: SubmissionStatus, error?: string): Submission => {
        statements.setSubmissionStatus.run(status, error ?? null, now(), id);
        const submission = toSubmission(statements.submission.get(id)!);
        if (status === "confirmed") {
          for (const entry of submission.entries) statements.setProven.run(entry.cumulativeTokens, entry.jobId.toString());
          if (submission.kind === "final" || submission.kind === "complete" || submission.kind === "claim")
            for (const entry of submission.entries) closeAndForget(entry.jobId.toString());
        }
        return submission;
      }),
    ),

    submission(id: number): Submission | undefined {
      const row = statements.submission.get(id);
      return row && toSubmission(row);
    },

    pendingSubmissions(): Submission[] {
      return statements.pendingSubmissions.all().map(toSubmission);
    },

    submissionsOfJob(jobId: bigint): Submission[] {
      return statements.submissionsOfJob.all(jobId.toString()).map(toSubmission);
    },

    /** Why new work must be refused (the file is gone, a write failed), or undefined. */
    fault: () => health.fault(),

    /** Throws `storage_unavailable` (503) while {@link fault} says why. */
    assertWritable: () => health.assertWritable(),

    /**
     * Resolves once every write committed so far is on disk: at once when nothing is unsynced, else
     * after the next sync; rejects with the storage fault after a failed one. For answers that show
     * stored state to a client who may act on it (docs/design.md, Storage: "Reads that show stored state").
     */
    synced: (): Promise<void> => group.synced(),

    /** Commits and writes so far: how well writes are grouped (tests, the bench). */
    commitStats: group.stats,

    /**
     * Commits what is pending and waits for its sync, refusing any write issued meanwhile (a sync
     * started for it could run on the closed descriptor), then closes the WAL's descriptor and the
     * database, first putting a removed file back in place from the open handle.
     */
    close: async (): Promise<void> => {
      await group
        .close(new HostError("storage_unavailable", `storage unavailable: ${parameters.path} is closed (the node is stopping)`))
        .catch(() => undefined);
      wal?.close();
      return health.close();
    },
  };
  return store satisfies Store;
}

const granted = () => Promise.resolve(Object.assign(() => undefined, { held: () => true }));

/** One process per SQLite database (its host lock): every cross-process lock is granted at once, and this process leads. */
const singleProcessLocks: StoreLocks = {
  shared: false,
  session: granted,
  trySession: granted,
  chainWriter: granted,
  leadProofs: (onLeader) => onLeader(new AbortController().signal),
  onReceiptStored: () => undefined,
};

type ExchangeRow = {
  job_id: string;
  sequence: string;
  prompt_tokens: number;
  completion_tokens: number;
  cumulative_tokens: number;
  transcript_hash: Hex;
  aborted: number;
};
type StoredExchangeRow = ExchangeRow & { previous_transcript_hash: Hex; request_body: Buffer; request_signature: Hex; response_text: string };
type ReceiptRow = { job_id: string; cumulative_tokens: number; transcript_hash: Hex; signature: Hex; received_ms: number };
type EntryRow = { submission_id: number; job_id: string; cumulative_tokens: number; tokens_in_batch: number };

function toExchange(row: ExchangeRow): Exchange {
  return {
    jobId: BigInt(row.job_id),
    sequence: BigInt(row.sequence),
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    cumulativeTokens: row.cumulative_tokens,
    transcriptHash: row.transcript_hash,
    aborted: row.aborted === 1,
  };
}

/** Brings a database written by an older node up to this schema: columns added since, by table. */
function migrate(db: Database.Database): void {
  const added = [
    ["exchanges", "previous_transcript_hash", "TEXT"],
    ["exchanges", "request_body", "BLOB"],
    ["exchanges", "request_signature", "TEXT"],
    ["exchanges", "response_text", "TEXT"],
    ["sessions", "closing_until_ms", "INTEGER NOT NULL DEFAULT 0"],
    ["sessions", "closing_lease", "TEXT"],
    ["sessions", "settlement_due", "INTEGER NOT NULL DEFAULT 0"],
  ] as const;
  for (const table of new Set(added.map(([table]) => table))) {
    const columns = new Set(
      db
        .prepare<[string], { name: string }>("SELECT name FROM pragma_table_info(?)")
        .all(table)
        .map((column) => column.name),
    );
    for (const [, column, type] of added.filter(([name]) => name === table))
      if (!columns.has(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
  // Read at each tick of the proof submitter: only the few sessions due a settlement, not every session ever served.
  db.exec("CREATE INDEX IF NOT EXISTS sessions_settlement_due ON sessions(job_id) WHERE settlement_due = 1");
}

/** Opens the database in WAL mode, committing without an fsync of its own (store/walSync.ts makes writes durable), brought up to this schema, for this deployment. */
function openDatabase(path: string, deployment: StoreDeployment): Database.Database {
  const db = new Database(path);
  // Before anything writes to it (the WAL mode, the schema brought up to date): a file migrated to PostgreSQL is left as migrate-store left it.
  refuseMigrated(db, path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  // Kept requests and answers are users' text: overwrite them when they are dropped.
  db.pragma("secure_delete = ON");
  db.exec(schema);
  migrate(db);
  checkDeployment(db, path, deployment);
  return db;
}

/**
 * One node per database: an exclusive lock on `<path>.lock`, a sidecar SQLite file (an OS lock
 * the kernel drops when the process dies, so a restart after kill -9 is never refused). The
 * database itself stays open to readers (an operator's sqlite3, a backup).
 */
export function lockDatabase(path: string): Database.Database | undefined {
  if (inMemory(path)) return undefined;
  const lock = new Database(`${canonicalPath(path)}.lock`, { timeout: 0 });
  lock.pragma("locking_mode = EXCLUSIVE");
  try {
    lock.exec("BEGIN EXCLUSIVE; COMMIT;");
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code === "SQLITE_BUSY") throw new HostLockError(`the database ${path} is in use by another host process`);
    throw error;
  }
  return lock;
}

/** Refuses (and closes) a database marked as migrated to PostgreSQL; only reads it, and a new or empty one has no meta table to read. */
function refuseMigrated(db: Database.Database, path: string): void {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
  const migrated = hasMeta ? readMigrationMark(db) : undefined;
  if (!migrated) return;
  db.close();
  throw migratedError(path, migrated);
}

function checkDeployment(db: Database.Database, path: string, deployment: StoreDeployment): void {
  const read = db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?");
  const write = db.prepare<[string, string]>("INSERT INTO meta (key, value) VALUES (?, ?)");
  const mismatch = db.transaction(() => {
    for (const [key, value] of deploymentMeta(deployment)) {
      const stored = read.get(key)?.value;
      if (stored === undefined) write.run(key, value);
      else if (stored !== value) return deploymentMismatch({ kind: "sqlite", path }, deployment, key, stored, value);
    }
    return undefined;
  })();
  if (mismatch) {
    db.close();
    throw mismatch;
  }
}

/**
 * The database file as SQLite names it, whose `-wal` it writes: the path with every symbolic link
 * resolved (a database reached through a link has its WAL beside the file linked to, not the link).
 */
function databaseFile(db: Database.Database): string {
  const databases = db.pragma("database_list") as { name: string; file: string }[];
  return databases.find((database) => database.name === "main")!.file;
}

/**
 * The database's path with every symbolic link resolved (the file's, else its folder's), so that
 * two spellings of one database take one lock: a node on the file and a migration or a second
 * node through a link to it would both write it. A hard link is not seen.
 */
function canonicalPath(path: string): string {
  if (existsSync(path)) return realpathSync(path);
  const folder = dirname(path);
  return existsSync(folder) ? join(realpathSync(folder), basename(path)) : path;
}

function inMemory(path: string): boolean {
  return path === ":memory:" || path === "";
}
