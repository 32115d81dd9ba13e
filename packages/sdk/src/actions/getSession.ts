import type { Address, Client, Hex } from "viem";
import { readContract } from "viem/actions";
import { jobMarketplaceWithModelsAbi } from "../abis.ts";
import { decodeContractError, type ContractCallError } from "../errors/contract.ts";

export type GetSessionParameters = { marketplace: Address; jobId: bigint };

/** Where a session is in its life; it only moves forward, from `active` to one final state. */
export type SessionStatus = "none" | "active" | "completed" | "timedOut" | "abandoned";

/** A session as the marketplace stores it (`sessionJobs`), decoded. */
export type OnChainSession = {
  jobId: bigint;
  status: SessionStatus;
  depositor: Address;
  host: Address;
  /** The zero address for ETH. */
  token: Address;
  /** The session signer (the depositor when no session key was named). */
  signer: Address;
  /**
   * The session's model when it has a verifier plug-in; otherwise zero (the chain keeps it only
   * where a proof needs it; the `SessionJobCreated` event always carries it).
   */
  modelId: Hex;
  depositAmount: bigint;
  pricePerToken: bigint;
  provenTokens: bigint;
  /** Most tokens the deposit pays for. */
  maxTokens: bigint;
  checkpointInterval: bigint;
  maxDuration: bigint;
  createdAt: bigint;
  lastActivity: bigint;
};

export type GetSessionReturnType = OnChainSession;

export type GetSessionErrorType = ContractCallError;

const statuses: readonly SessionStatus[] = ["none", "active", "completed", "timedOut", "abandoned"];

/**
 * Reads a session from the marketplace (the decoded view of the `sessionJobs` mapping). A job id
 * that was never used comes back with status `none`.
 *
 * @example
 * const { status, provenTokens, signer } = await getSession(client, { marketplace, jobId: session.jobId });
 */
export async function getSession(client: Client, parameters: GetSessionParameters): Promise<GetSessionReturnType> {
  const { marketplace, jobId } = parameters;
  let info;
  try {
    info = await readContract(client, { address: marketplace, abi: jobMarketplaceWithModelsAbi, functionName: "getSession", args: [jobId] });
  } catch (error) {
    throw decodeContractError(error, { functionName: "getSession" });
  }
  return { jobId, ...info, status: statuses[info.status] ?? "none" };
}
