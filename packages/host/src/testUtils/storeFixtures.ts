/** TEST FIXTURES shared by the store tests (SQLite, PostgreSQL, migration, token ledger). */
import { emptyTranscriptHash } from "@session-jobs/protocol";
import type { Store } from "../store/storeTypes.ts";

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
