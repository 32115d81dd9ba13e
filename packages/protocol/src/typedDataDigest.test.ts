import { describe, expect, it } from "vitest";
import { bytesToHex, hashTypedData, stringToBytes, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, toAccount } from "viem/accounts";
import { checkpointTypes, sessionJobsDomain, sessionRequestTypes } from "./eip712.ts";
import { checkpointDigest, sessionRequestDigest, signCheckpoint, signSessionRequest, type SessionDomainParameters } from "./signatures.ts";
import { createTypedDataDigest } from "./typedDataDigest.ts";

const domain: SessionDomainParameters = { chainId: 31337, marketplace: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
const hashOf = (byte: string): Hex => `0x${byte.repeat(32)}`;
const maxUint256 = 2n ** 256n - 1n;

/** Deterministic pseudo-random values (no wall clock, no Math.random): the same cases on every run. */
function* cases(count: number) {
  let state = 0x2545f491n;
  const next = () => (state = (state * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n);
  const word = () => (next() << 192n) | (next() << 128n) | (next() << 64n) | next();
  const hash = () => bytesToHex(Uint8Array.from({ length: 32 }, () => Number(next() % 256n)));
  const uint = () => [0n, 1n, maxUint256, word(), next(), word() >> 200n][Number(next() % 6n)]!;
  for (let index = 0; index < count; index++)
    yield {
      domain: index % 2 ? domain : { chainId: Number(next() % 2n ** 40n) + 1, marketplace: privateKeyToAccount(hash()).address },
      checkpoint: { jobId: uint(), cumulativeTokens: uint(), transcriptHash: hash() },
      request: {
        jobId: uint(),
        sequence: uint(),
        transcriptHash: hash(),
        endpoint: ["/v1/chat/completions", "/v1/session/sync", "é ✓ 🙂"][index % 3]!,
        bodyHash: hash(),
      },
    };
}

const viemCheckpoint = (parameters: SessionDomainParameters, message: Record<string, unknown>) =>
  hashTypedData({ domain: sessionJobsDomain(parameters), types: checkpointTypes, primaryType: "Checkpoint", message: message as never });
const viemRequest = (parameters: SessionDomainParameters, message: Record<string, unknown>) =>
  hashTypedData({ domain: sessionJobsDomain(parameters), types: sessionRequestTypes, primaryType: "SessionRequest", message: message as never });

describe("createTypedDataDigest", () => {
  const hashCheckpoint = createTypedDataDigest(checkpointTypes);
  const hashRequest = createTypedDataDigest(sessionRequestTypes);

  it("equals viem's hashTypedData for both protocol types, over many domains and values (0, 2^256 - 1, any string)", () => {
    for (const example of cases(200)) {
      expect(hashCheckpoint(example.domain, example.checkpoint)).toBe(viemCheckpoint(example.domain, example.checkpoint));
      expect(hashRequest(example.domain, example.request)).toBe(viemRequest(example.domain, example.request));
    }
  });

  it("refuses what viem refuses: integers out of range or not bigints, hashes of the wrong size, a bad domain", () => {
    const checkpoint = { jobId: 1n, cumulativeTokens: 2n, transcriptHash: hashOf("ab") };
    for (const bad of [
      { ...checkpoint, jobId: -1n },
      { ...checkpoint, cumulativeTokens: maxUint256 + 1n },
      { ...checkpoint, transcriptHash: `0x${"ab".repeat(31)}` },
      { ...checkpoint, transcriptHash: `0x${"ab".repeat(33)}` },
    ]) {
      expect(() => viemCheckpoint(domain, bad)).toThrow();
      expect(() => hashCheckpoint(domain, bad)).toThrow();
    }
    // Stricter than viem where viem would hash something else than the caller meant.
    for (const bad of [
      { ...checkpoint, jobId: "1" },
      { ...checkpoint, jobId: 1.5 },
      { ...checkpoint, transcriptHash: `0x${"zz".repeat(32)}` },
      { ...checkpoint, transcriptHash: undefined },
    ])
      expect(() => hashCheckpoint(domain, bad)).toThrow(TypeError);
    expect(() =>
      hashRequest(domain, { jobId: 1n, sequence: 1n, transcriptHash: checkpoint.transcriptHash, endpoint: 7, bodyHash: checkpoint.transcriptHash }),
    ).toThrow(TypeError);
    for (const badDomain of [
      { chainId: 1.5, marketplace: domain.marketplace },
      { chainId: 1, marketplace: "0x5FbDB2315678afecb367f032d93F642f64180aA3" as const },
      { chainId: 1, marketplace: "0x1234" as const },
    ]) {
      expect(() => viemCheckpoint(badDomain, checkpoint)).toThrow();
      expect(() => hashCheckpoint(badDomain, checkpoint)).toThrow();
    }
  });

  it("encodes only flat structs of uint256, bytes32 and string", () => {
    expect(() => createTypedDataDigest({ Permit: [{ name: "owner", type: "address" }] })).toThrow(/cannot encode address/);
    expect(() => createTypedDataDigest({ A: [], B: [] })).toThrow(/one struct type/);
  });

  it("keeps its caches bounded and correct past their limit", () => {
    const many = [...cases(150)];
    for (const example of many) hashCheckpoint(example.domain, example.checkpoint);
    for (const example of many.slice(0, 10))
      expect(hashCheckpoint(example.domain, example.checkpoint)).toBe(viemCheckpoint(example.domain, example.checkpoint));
  });
});

describe("signatures over precomputed digests", () => {
  const key = generatePrivateKey();
  const local = privateKeyToAccount(key);
  const checkpoint = { jobId: 9n, cumulativeTokens: 123n, transcriptHash: hashOf("cd") };
  const request = {
    jobId: 9n,
    sequence: 4n,
    transcriptHash: checkpoint.transcriptHash,
    endpoint: "/v1/chat/completions",
    body: stringToBytes('{"messages":[]}'),
  } as const;

  it("are the very signatures viem's signTypedData makes", async () => {
    expect(await signCheckpoint(local, domain, checkpoint)).toBe(
      await local.signTypedData({ domain: sessionJobsDomain(domain), types: checkpointTypes, primaryType: "Checkpoint", message: checkpoint }),
    );
    expect(checkpointDigest(domain, checkpoint)).toBe(viemCheckpoint(domain, checkpoint));
    const signature = await signSessionRequest(local, domain, request);
    expect(await local.sign({ hash: sessionRequestDigest(domain, request) })).toBe(signature);
  });

  it("hand an account that cannot sign a bare hash the whole typed data", async () => {
    const primaryTypes: unknown[] = [];
    const account = toAccount({
      address: local.address,
      signMessage: local.signMessage,
      signTransaction: local.signTransaction,
      signTypedData: (typedData) => {
        primaryTypes.push(typedData.primaryType);
        return local.signTypedData(typedData);
      },
    });
    expect(account.sign).toBeUndefined();
    expect(await signCheckpoint(account, domain, checkpoint)).toBe(await signCheckpoint(local, domain, checkpoint));
    expect(await signSessionRequest(account, domain, request)).toBe(await signSessionRequest(local, domain, request));
    expect(primaryTypes).toEqual(["Checkpoint", "SessionRequest"]);
  });
});
