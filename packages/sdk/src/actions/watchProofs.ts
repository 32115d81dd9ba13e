import type { Address, Client, Hash, Hex, WatchContractEventReturnType } from "viem";
import { watchContractEvent } from "viem/actions";
import { jobMarketplaceWithModelsAbi } from "../abis.ts";
import { decodeContractError, type ContractCallError } from "../errors/contract.ts";

/** One checkpoint proof that landed on chain (`ProofSubmitted`). */
export type ProofSubmission = {
  jobId: bigint;
  host: Address;
  /** Tokens this proof added. */
  tokens: bigint;
  /** EIP-712 digest of the receipt. */
  proofHash: Hex;
  verified: boolean;
  transactionHash: Hash;
  blockNumber: bigint;
};

export type WatchProofsParameters = {
  marketplace: Address;
  /** Only this session's proofs; default every session's. */
  jobId?: bigint | undefined;
  /** Only this host's proofs. */
  host?: Address | undefined;
  onProof: (proof: ProofSubmission) => void;
  onError?: ((error: ContractCallError | Error) => void) | undefined;
  /** Also report proofs from this block on (e.g. the session's `openedAtBlock`). */
  fromBlock?: bigint | undefined;
  /** Polling interval in ms; default the client's. */
  pollingInterval?: number | undefined;
};

export type WatchProofsReturnType = WatchContractEventReturnType;

export type WatchProofsErrorType = ContractCallError;

/**
 * Calls `onProof` for every checkpoint proof a host submits (`ProofSubmitted`). Returns a
 * function that stops watching.
 *
 * @example
 * const unwatch = watchProofs(client, {
 *   marketplace,
 *   jobId: session.jobId,
 *   onProof: (proof) => console.log(`proof: +${proof.tokens} tokens`),
 * });
 */
export function watchProofs(client: Client, parameters: WatchProofsParameters): WatchProofsReturnType {
  const { jobId, host } = parameters;
  return watchContractEvent(client, {
    address: parameters.marketplace,
    abi: jobMarketplaceWithModelsAbi,
    eventName: "ProofSubmitted",
    args: { ...(jobId !== undefined && { jobId }), ...(host !== undefined && { host }) },
    strict: true,
    fromBlock: parameters.fromBlock,
    pollingInterval: parameters.pollingInterval,
    onLogs: (logs) => {
      for (const log of logs) parameters.onProof({ ...log.args, transactionHash: log.transactionHash, blockNumber: log.blockNumber });
    },
    onError: (error) => parameters.onError?.(decodeContractError(error, { functionName: "watch ProofSubmitted" })),
  });
}
