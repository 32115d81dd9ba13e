import type { Address, Hex } from "viem";
import type { Checkpoint } from "@session-jobs/protocol";
import type { Store } from "../store/storeTypes.ts";
import type { SessionCache } from "./chainSession.ts";
import { pendingCoverage } from "./proofCoverage.ts";

/**
 * What a proof the chain refused as invalid (`InvalidProof`, `ProofRejected`, or one reverted mined)
 * says about its receipt:
 * - `refused`: the receipt itself, for good: it is no ECDSA signature of the session signer that
 *   the contract's inline check takes, so it rested on ERC-1271 (a contract or an EIP-7702
 *   delegated key, which may answer the host's call "valid" and the transaction "invalid", or drop
 *   its code in between), no proof of the session is on its way and the chain's proven count is
 *   still the one the proof was built from;
 * - `stale`: the proof was built on a proven count the chain no longer holds (a proof of the session
 *   still pending, or mined meanwhile; a node behind): the contract checked the signature over
 *   another cumulative count, so the receipt may be good. Build it again and retry;
 * - `notTheReceipt`: the receipt is the signer's ECDSA signature the contract takes inline (checked
 *   here again, offline: whether the signer holds code now says nothing, as an EIP-7702 key can add
 *   and drop code at will); the failure is not the receipt's (a model verifier, a node's state):
 *   kept, tried again later.
 */
export type RefusalVerdict = "refused" | "stale" | "notTheReceipt";

export type RefusalContext = {
  store: Store;
  sessions: SessionCache;
  /** Whether a receipt is the signer's ECDSA signature that the contract's inline check takes (offline). */
  isEcdsaReceipt: (signer: Address, checkpoint: Checkpoint, signature: Hex) => Promise<boolean>;
};

/** The receipt a refused proof carried. */
export type RefusedReceipt = { cumulativeTokens: number; transcriptHash: Hex; signature: Hex };

/** Judges a refused proof of `jobId` carrying `receipt`, built on `provenTokens` ({@link RefusalVerdict}). A chain read that fails throws. */
export async function judgeRefusal(context: RefusalContext, jobId: bigint, provenTokens: number, receipt: RefusedReceipt): Promise<RefusalVerdict> {
  if ((await pendingCoverage(context.store, jobId)) !== undefined) return "stale";
  const session = await context.sessions.get(jobId, { fresh: true });
  if (session.status !== "active" || Number(session.provenTokens) !== provenTokens) return "stale";
  const checkpoint = { jobId, cumulativeTokens: BigInt(receipt.cumulativeTokens), transcriptHash: receipt.transcriptHash };
  return (await context.isEcdsaReceipt(session.signer, checkpoint, receipt.signature)) ? "notTheReceipt" : "refused";
}
