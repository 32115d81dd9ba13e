import type { Address } from "viem";
import type { Store } from "../store/storeTypes.ts";
import type { SessionCache } from "./chainSession.ts";
import { pendingCoverage } from "./proofCoverage.ts";

/**
 * What a proof the chain refused as invalid (`InvalidProof`, `ProofRejected`, or one reverted mined)
 * says about its receipt:
 * - `refused`: the receipt itself, for good: its signer holds code (a contract or an EIP-7702
 *   delegated key, which may answer the host's call "valid" and the transaction "invalid"), no
 *   proof of the session is on its way and the chain's proven count is still the one the proof was
 *   built from;
 * - `stale`: the proof was built on a proven count the chain no longer holds (a proof of the session
 *   still pending, or mined meanwhile; a node behind): the contract checked the signature over
 *   another cumulative count, so the receipt may be good. Build it again and retry;
 * - `notTheReceipt`: the signer has no code, so the host checked the receipt's ECDSA signature itself
 *   exactly as the contract does; the failure is not the receipt's (a model verifier, a node's
 *   state): kept, tried again later.
 */
export type RefusalVerdict = "refused" | "stale" | "notTheReceipt";

export type RefusalContext = {
  store: Store;
  sessions: SessionCache;
  /** Whether an address holds code (asked only when a proof was refused: rare). */
  isContract: (address: Address) => Promise<boolean>;
};

/** Judges a refused proof of `jobId` built on `provenTokens` ({@link RefusalVerdict}). A chain read that fails throws. */
export async function judgeRefusal(context: RefusalContext, jobId: bigint, provenTokens: number): Promise<RefusalVerdict> {
  if ((await pendingCoverage(context.store, jobId)) !== undefined) return "stale";
  const session = await context.sessions.get(jobId, { fresh: true });
  if (session.status !== "active" || Number(session.provenTokens) !== provenTokens) return "stale";
  return (await context.isContract(session.signer)) ? "refused" : "notTheReceipt";
}
