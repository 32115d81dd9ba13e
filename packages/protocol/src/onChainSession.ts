import type { Address, Client, Hex } from "viem";
import { readContract } from "viem/actions";
import { jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";

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

const statuses: readonly SessionStatus[] = ["none", "active", "completed", "timedOut", "abandoned"];

/**
 * Reads a session from the marketplace's `getSession` view, decoded; a job id never used comes back
 * with status `none`; at `blockNumber` when given (else the latest block). Failures are viem's: the SDK decodes them into its typed errors, the host
 * into its own.
 */
export async function readOnChainSession(
  client: Client,
  parameters: { marketplace: Address; jobId: bigint; blockNumber?: bigint | undefined },
): Promise<OnChainSession> {
  const info = await readContract(client, {
    address: parameters.marketplace,
    abi: jobMarketplaceWithModelsAbi,
    functionName: "getSession",
    args: [parameters.jobId],
    ...(parameters.blockNumber !== undefined && { blockNumber: parameters.blockNumber }),
  });
  return { jobId: parameters.jobId, ...info, status: statuses[info.status] ?? "none" };
}
