import { describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { stringToBytes } from "viem";
import {
  decodeCheckpointProof,
  emptyTranscriptHash,
  encodeCheckpointProof,
  nextTranscriptHash,
  recoverCheckpointSigner,
  recoverSessionRequestSigner,
  signCheckpoint,
  signSessionRequest,
} from "./index.ts";

const domain = { chainId: 31337, marketplace: "0x5FbDB2315678afecb367f032d93F642f64180aa3" } as const;

describe("protocol", () => {
  it("binds a checkpoint to its signer, job, count and transcript", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const checkpoint = { jobId: 7n, cumulativeTokens: 1000n, transcriptHash: emptyTranscriptHash };
    const signature = await signCheckpoint(account, domain, checkpoint);
    expect(await recoverCheckpointSigner(domain, checkpoint, signature)).toBe(account.address);
    expect(await recoverCheckpointSigner(domain, { ...checkpoint, cumulativeTokens: 1001n }, signature)).not.toBe(account.address);
    expect(await recoverCheckpointSigner({ ...domain, chainId: 1 }, checkpoint, signature)).not.toBe(account.address);
  });

  it("binds a request signature to the body, sequence, endpoint and the transcript it builds on", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const request = {
      jobId: 1n,
      sequence: 1n,
      transcriptHash: emptyTranscriptHash,
      endpoint: "/v1/chat/completions",
      body: stringToBytes('{"messages":[]}'),
    } as const;
    const signature = await signSessionRequest(account, domain, request);
    expect(await recoverSessionRequestSigner(domain, request, signature)).toBe(account.address);
    expect(await recoverSessionRequestSigner(domain, { ...request, sequence: 2n }, signature)).not.toBe(account.address);
    expect(await recoverSessionRequestSigner(domain, { ...request, body: stringToBytes("{}") }, signature)).not.toBe(account.address);
    expect(await recoverSessionRequestSigner(domain, { ...request, transcriptHash: `0x${"11".repeat(32)}` }, signature)).not.toBe(account.address);
    expect(await recoverSessionRequestSigner(domain, { ...request, endpoint: "/v1/session/sync" }, signature)).not.toBe(account.address);
  });

  it("chains transcript hashes so any changed exchange changes the result", () => {
    const exchange = { requestBody: stringToBytes("{}"), responseText: "In the beginning", promptTokens: 3, completionTokens: 16 };
    const first = nextTranscriptHash(emptyTranscriptHash, exchange);
    expect(first).not.toBe(emptyTranscriptHash);
    expect(nextTranscriptHash(emptyTranscriptHash, { ...exchange, completionTokens: 17 })).not.toBe(first);
    expect(nextTranscriptHash(first, exchange)).not.toBe(first);
  });

  it("round-trips a checkpoint proof", () => {
    const signature = `0x${"ab".repeat(65)}` as const;
    const proof = encodeCheckpointProof({ transcriptHash: emptyTranscriptHash, signature });
    expect(decodeCheckpointProof(proof)).toEqual({ transcriptHash: emptyTranscriptHash, signature });
  });
});
