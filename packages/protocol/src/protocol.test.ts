import { describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { encodeAbiParameters, keccak256, stringToBytes, type Hex } from "viem";
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

  it("hashes a transcript exactly as keccak256(abi.encode(...)) by viem's encoder, and refuses what it refuses", () => {
    const byViem = (previous: Hex, exchange: { requestBody: Uint8Array; responseText: string; promptTokens: number; completionTokens: number }) =>
      keccak256(
        encodeAbiParameters(
          [{ type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }, { type: "uint256" }],
          [
            previous,
            keccak256(exchange.requestBody),
            keccak256(stringToBytes(exchange.responseText)),
            BigInt(exchange.promptTokens),
            BigInt(exchange.completionTokens),
          ],
        ),
      );
    let previous: Hex = emptyTranscriptHash;
    for (const [index, responseText] of ["", "In the beginning", "é 🙂 ✓\r\n", "x".repeat(10_000)].entries()) {
      const exchange = {
        requestBody: stringToBytes(`{"n":${index}}`),
        responseText,
        promptTokens: index * 7,
        completionTokens: [0, 1, 2 ** 53 - 1, 1e20][index]!,
      };
      const next = nextTranscriptHash(previous, exchange);
      expect(next).toBe(byViem(previous, exchange));
      previous = next;
    }
    const exchange = { requestBody: stringToBytes("{}"), responseText: "", promptTokens: 1, completionTokens: 1 };
    for (const [bad, badExchange] of [
      [`0x${"00".repeat(31)}`, exchange],
      [emptyTranscriptHash, { ...exchange, promptTokens: -1 }],
      [emptyTranscriptHash, { ...exchange, completionTokens: 1.5 }],
      [emptyTranscriptHash, { ...exchange, completionTokens: Number.NaN }],
    ] as const) {
      expect(() => byViem(bad, badExchange)).toThrow();
      expect(() => nextTranscriptHash(bad, badExchange)).toThrow();
    }
  });

  it("round-trips a checkpoint proof", () => {
    const signature = `0x${"ab".repeat(65)}` as const;
    const proof = encodeCheckpointProof({ transcriptHash: emptyTranscriptHash, signature });
    expect(decodeCheckpointProof(proof)).toEqual({ transcriptHash: emptyTranscriptHash, signature });
  });
});
