import { decodeFunctionData, parseTransaction, type Abi, type Address, type Hex } from "viem";
import { encodeCheckpointProof } from "@session-jobs/protocol";
import type { StoredReceipt, Submission, SubmissionEntry } from "../store/storeTypes.ts";
import type { ContractCall } from "./transactionSender.ts";

/** The marketplace the proofs go to. */
export type Marketplace = { address: Address; abi: Abi };

/** One session's share of a proof transaction, with the proof bytes of its newest receipt. */
export type ProofEntry = SubmissionEntry & { proof: Hex };

/** A call of one of the marketplace's functions. */
export const marketplaceCall = (marketplace: Marketplace, functionName: string, args: readonly unknown[]): ContractCall => ({
  address: marketplace.address,
  abi: marketplace.abi,
  functionName,
  args,
});

/** The `proof` bytes of a stored receipt (transcript hash and the session key's signature). */
export const receiptProof = (receipt: Pick<StoredReceipt, "transcriptHash" | "signature">): Hex =>
  encodeCheckpointProof({ transcriptHash: receipt.transcriptHash, signature: receipt.signature });

/** `submitProofOfWork` for one entry, `submitProofsBatch` for several. */
export const proofCall = (marketplace: Marketplace, entries: ProofEntry[]): ContractCall =>
  entries.length === 1
    ? marketplaceCall(marketplace, "submitProofOfWork", [entries[0]!.jobId, entries[0]!.proof, BigInt(entries[0]!.tokensInBatch)])
    : marketplaceCall(marketplace, "submitProofsBatch", [
        entries.map((entry) => entry.jobId),
        entries.map((entry) => entry.proof),
        entries.map((entry) => BigInt(entry.tokensInBatch)),
      ]);

/**
 * The entries of a recorded proof transaction (`checkpoint` or `batch`) with the proof bytes it
 * carried, read back from its signed bytes: {@link proofCall} undone, for a fate learned later.
 */
export function proofEntriesOf(marketplace: Marketplace, submission: Submission): ProofEntry[] {
  const { functionName, args } = decodeFunctionData({ abi: marketplace.abi, data: parseTransaction(submission.rawTx).data! });
  const [jobIds, proofs] = (functionName === "submitProofOfWork" ? [[args![0]], [args![1]]] : args) as [bigint[], Hex[]];
  // By job: a store may list a submission's entries in another order than the call's.
  return submission.entries.map((entry) => ({ ...entry, proof: proofs[jobIds.indexOf(entry.jobId)]! }));
}

/** The call that settles a session: prove `final` and complete in one call, or complete alone when nothing is unproven. */
export const settlementCall = (marketplace: Marketplace, jobId: bigint, final: StoredReceipt | undefined, provenTokens: number): ContractCall =>
  final
    ? marketplaceCall(marketplace, "submitProofAndComplete", [jobId, receiptProof(final), BigInt(final.cumulativeTokens - provenTokens)])
    : marketplaceCall(marketplace, "completeSessionJob", [jobId]);
