import type { Address, Client } from "viem";
import { readOnChainSession, type OnChainSession } from "@session-jobs/protocol";
import { decodeContractError, type ContractCallError } from "../errors/contract.ts";

export type { OnChainSession, SessionStatus } from "@session-jobs/protocol";

export type GetSessionParameters = {
  marketplace: Address;
  jobId: bigint;
  /** Read the session as it was at this block (a page showing everything at one block). Default: the latest. */
  blockNumber?: bigint | undefined;
};

export type GetSessionReturnType = OnChainSession;

export type GetSessionErrorType = ContractCallError;

/**
 * Reads a session from the marketplace (the decoded view of the `sessionJobs` mapping). A job id
 * that was never used comes back with status `none`.
 *
 * @example
 * const { status, provenTokens, signer } = await getSession(client, { marketplace, jobId: session.jobId });
 */
export async function getSession(client: Client, parameters: GetSessionParameters): Promise<GetSessionReturnType> {
  try {
    return await readOnChainSession(client, parameters);
  } catch (error) {
    throw decodeContractError(error, { functionName: "getSession" });
  }
}
