/** TEST FIXTURES shared by the store tests (SQLite, PostgreSQL, migration, token ledger). */
import Database from "better-sqlite3";
import { emptyTranscriptHash } from "@session-jobs/protocol";
import type { Store, StoreDeployment } from "../store/storeTypes.ts";

export const deployment = {
  chainId: 31337,
  marketplace: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  host: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
} as const;

/** A 32-byte hash of one repeated byte (`"aa"` → 0xaaaa…). */
export const hash = (byte: string) => `0x${byte.repeat(32)}` as const;

/** An exchange of job 1 built on the empty transcript; tests override the counts. */
export const exchange = {
  jobId: 1n,
  aborted: false,
  previousTranscriptHash: emptyTranscriptHash,
  requestBody: new TextEncoder().encode('{"messages":[]}'),
  requestSignature: "0x1234",
  responseText: "In the beginning",
} as const;

/** Serves job `jobId` from `from` up to `tokens` (one exchange, request `sequence`; counts below 256) and stores the client's receipt for it. */
export async function serveUpTo(store: Store, jobId: bigint, sequence: bigint, from: number, tokens: number) {
  await store.ensureSession(jobId, 100);
  await store.claimSequence(jobId, sequence);
  const previous = from === 0 ? exchange.previousTranscriptHash : hash(from.toString(16).padStart(2, "0"));
  const reached = hash(tokens.toString(16).padStart(2, "0"));
  await store.appendExchange({
    ...exchange,
    jobId,
    sequence,
    promptTokens: 1,
    completionTokens: tokens - from - 1,
    cumulativeTokens: tokens,
    transcriptHash: reached,
    previousTranscriptHash: previous,
  });
  await store.storeReceipt({ jobId, cumulativeTokens: tokens, transcriptHash: reached, signature: "0x01" });
}

/**
 * A SQLite database as a node wrote it before exchanges kept their requests (and sessions their
 * closing lease), for `deployment`: session 1 at 40 tokens, its one exchange (sequence 1) hashed `aa`.
 */
export function writeOldSchemaDatabase(path: string, deployment: StoreDeployment): void {
  const old = new Database(path);
  old.exec(`
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE sessions (
      job_id TEXT PRIMARY KEY, last_sequence TEXT NOT NULL DEFAULT '0', served_tokens INTEGER NOT NULL DEFAULT 0, transcript_hash TEXT NOT NULL,
      signed_tokens INTEGER NOT NULL DEFAULT 0, proven_tokens INTEGER NOT NULL DEFAULT 0, checkpoint_interval INTEGER NOT NULL,
      last_activity_ms INTEGER NOT NULL, closed INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE exchanges (
      job_id TEXT NOT NULL, sequence TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
      cumulative_tokens INTEGER NOT NULL, transcript_hash TEXT NOT NULL, aborted INTEGER NOT NULL, created_ms INTEGER NOT NULL,
      PRIMARY KEY (job_id, sequence)
    );
  `);
  const meta = old.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
  meta.run("chainId", String(deployment.chainId));
  meta.run("marketplace", deployment.marketplace.toLowerCase());
  meta.run("host", deployment.host.toLowerCase());
  old
    .prepare(
      "INSERT INTO sessions (job_id, last_sequence, served_tokens, transcript_hash, checkpoint_interval, last_activity_ms) VALUES ('1', '1', 40, ?, 100, 0)",
    )
    .run(hash("aa"));
  old.prepare("INSERT INTO exchanges VALUES ('1', '1', 10, 30, 40, ?, 0, 0)").run(hash("aa"));
  old.close();
}
