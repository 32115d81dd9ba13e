/** TEST FIXTURES shared by the store tests (SQLite, PostgreSQL, migration, token ledger). */
import { emptyTranscriptHash } from "@session-jobs/protocol";

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
