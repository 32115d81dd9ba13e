import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emptyTranscriptHash } from "@session-jobs/sdk/protocol";
import { createStore } from "./store.ts";

const deployment = { chainId: 31337, marketplace: "0x5FbDB2315678afecb367f032d93F642f64180aa3", host: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" } as const;
const hash = (byte: string) => `0x${byte.repeat(32)}` as const;
/** An exchange of job 1 built on the empty transcript; tests override the counts. */
const exchange = {
  jobId: 1n,
  aborted: false,
  previousTranscriptHash: emptyTranscriptHash,
  requestBody: new TextEncoder().encode('{"messages":[]}'),
  requestSignature: "0x1234",
  responseText: "In the beginning",
} as const;

describe("store", () => {
  it("keeps sessions, exchanges, receipts and submissions across a reopen", () => {
    const path = join(mkdtempSync(join(tmpdir(), "host-store-")), "host.sqlite");
    const store = createStore({ path, deployment });
    expect(store.ensureSession(1n, 100)).toMatchObject({ servedTokens: 0, transcriptHash: emptyTranscriptHash, lastSequence: 0n });
    expect(store.claimSequence(1n, 1n)).toBe(true);
    expect(store.claimSequence(1n, 1n)).toBe(false);
    store.appendExchange({ ...exchange, sequence: 1n, promptTokens: 10, completionTokens: 30, cumulativeTokens: 40, transcriptHash: hash("aa") });
    expect(store.storeReceipt({ jobId: 1n, cumulativeTokens: 40, transcriptHash: hash("aa"), signature: "0x01" })).toBe(true);
    expect(store.storeReceipt({ jobId: 1n, cumulativeTokens: 40, transcriptHash: hash("aa"), signature: "0x01" })).toBe(false);
    const id = store.recordSubmission({ kind: "checkpoint", nonce: 0, txHash: hash("cc"), rawTx: "0x02", entries: [{ jobId: 1n, cumulativeTokens: 40, tokensInBatch: 40 }] });
    store.close();

    const reopened = createStore({ path, deployment });
    expect(reopened.session(1n)).toMatchObject({ lastSequence: 1n, servedTokens: 40, signedTokens: 40, provenTokens: 0, transcriptHash: hash("aa") });
    expect(reopened.exchangesAt(1n, 40).map((exchange) => exchange.transcriptHash)).toEqual([hash("aa")]);
    expect(reopened.sessionsWithUnprovenReceipts().map((session) => session.jobId)).toEqual([1n]);
    expect(reopened.pendingSubmissions()).toMatchObject([{ id, status: "signed", entries: [{ jobId: 1n, cumulativeTokens: 40 }] }]);
    reopened.setSubmissionStatus(id, "confirmed");
    expect(reopened.session(1n)?.provenTokens).toBe(40);
    expect(reopened.sessionsWithUnprovenReceipts()).toEqual([]);
    reopened.close();
  });

  it("refuses a database made for another chain, contract or host", () => {
    const path = join(mkdtempSync(join(tmpdir(), "host-store-")), "host.sqlite");
    createStore({ path, deployment }).close();
    expect(() => createStore({ path, deployment: { ...deployment, chainId: 1 } })).toThrow(/database belongs to chainId 31337, not 1/);
  });
});
