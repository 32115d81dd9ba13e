import { parseSignature, recoverAddress, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { checkpointDigest, signCheckpoint, type Checkpoint } from "@session-jobs/protocol";
import { compactSignature, forgedSignatures, hexWord, secp256k1Order } from "../testUtils/signatureCases.ts";
import { createCheckpointSignatures } from "./checkpointSignatures.ts";

const halfOrder = secp256k1Order / 2n;
const domain = { chainId: 31337, marketplace: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address };

/**
 * What a receipt's signature must be, written plainly with viem: a 65-byte signature viem parses
 * (r and s in 1 … n − 1) with v 27 or 28 (the only values the chain's `ecrecover` takes) and a low s
 * that recovers to the signer accepts; any other (malformed, high-s, v 0/1, not ECDSA, or another
 * signer's) is left to ERC-1271 as the contract does, for a signer with code.
 */
async function expected(signer: Address, checkpoint: Checkpoint, signature: Hex): Promise<"accepted" | "ask-chain"> {
  if (signature.length !== 132) return "ask-chain";
  let parsed: ReturnType<typeof parseSignature>;
  try {
    parsed = parseSignature(signature);
  } catch {
    return "ask-chain";
  }
  if (BigInt(parsed.s) > halfOrder || (parsed.v !== 27n && parsed.v !== 28n)) return "ask-chain";
  try {
    if ((await recoverAddress({ hash: checkpointDigest(domain, checkpoint), signature })).toLowerCase() === signer.toLowerCase()) return "accepted";
  } catch {
    // not ECDSA
  }
  return "ask-chain";
}

/** What the host decided for a signer with code (`contract`) or without, and whether it asked the chain (ERC-1271) about it. */
async function decided(signer: Address, checkpoint: Checkpoint, signature: Hex, contract = true): Promise<"accepted" | "refused" | "ask-chain"> {
  let asked = false;
  const signatures = createCheckpointSignatures({
    domain,
    isContract: async () => contract,
    isValidContractSignature: async () => {
      asked = true;
      return false;
    },
  });
  const accepted = await signatures.isSignedBy(1n, signer, checkpoint, signature);
  return accepted ? "accepted" : asked ? "ask-chain" : "refused";
}

describe("isSignedBy", () => {
  it("accepts the session signer's low-s receipt with v 27/28 and the signer's address in any case", async () => {
    for (let i = 0; i < 8; i++) {
      const account = privateKeyToAccount(generatePrivateKey());
      const checkpoint: Checkpoint = { jobId: BigInt(i + 1), cumulativeTokens: BigInt(100 * i + 7), transcriptHash: `0x${hexWord(BigInt(i) * 977n + 5n)}` };
      const signature = await signCheckpoint(account, domain, checkpoint);
      for (const signer of [account.address, account.address.toLowerCase() as Address, account.address.toUpperCase().replace("0X", "0x") as Address])
        for (const candidate of [signature, signature.toUpperCase().replace("0X", "0x") as Hex])
          expect(await decided(signer, checkpoint, candidate), `${signer} ${candidate}`).toBe("accepted");
    }
  });

  it("refuses the same receipt with v 0/1 from a signer without code, and asks a contract signer (ERC-1271) as the contract does: the chain's ecrecover takes only 27 or 28", async () => {
    for (let i = 0; i < 8; i++) {
      const account = privateKeyToAccount(generatePrivateKey());
      const checkpoint: Checkpoint = { jobId: BigInt(i + 1), cumulativeTokens: BigInt(100 * i + 7), transcriptHash: `0x${hexWord(BigInt(i) * 977n + 5n)}` };
      const signature = await signCheckpoint(account, domain, checkpoint);
      const compactV = `${signature.slice(0, 130)}0${Number.parseInt(signature.slice(130), 16) - 27}` as Hex;
      expect(await decided(account.address, checkpoint, compactV, false), compactV).toBe("refused");
      expect(await decided(account.address, checkpoint, compactV, true), compactV).toBe("ask-chain");
    }
  });

  it("leaves high-s, malformed and another signer's signatures to ERC-1271 for a contract signer and refuses them for one without code, exactly as viem's checks do", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const other = privateKeyToAccount(generatePrivateKey());
    const checkpoint: Checkpoint = { jobId: 9n, cumulativeTokens: 64n, transcriptHash: `0x${hexWord(12345n)}` };
    const real = await signCheckpoint(account, domain, checkpoint);
    const r = BigInt(`0x${real.slice(2, 66)}`);
    const s = BigInt(`0x${real.slice(66, 130)}`);
    const v = real.slice(130);
    const cases: Hex[] = [
      real,
      ...forgedSignatures(real),
      compactSignature(r, halfOrder, v),
      compactSignature(r, halfOrder + 1n, v),
      compactSignature(r, s, v === "1b" ? "1c" : "1b"),
      await signCheckpoint(other, domain, checkpoint),
      await signCheckpoint(account, domain, { ...checkpoint, cumulativeTokens: 65n }),
    ];
    const outcomes = new Set<string>();
    for (const signature of cases) {
      const want = await expected(account.address, checkpoint, signature);
      outcomes.add(want);
      expect(await decided(account.address, checkpoint, signature), signature).toBe(want);
      expect(await decided(account.address, checkpoint, signature, false), signature).toBe(want === "accepted" ? "accepted" : "refused");
    }
    expect([...outcomes].sort()).toEqual(["accepted", "ask-chain"]);
  });
});
