import type { Address, Client, WatchContractEventReturnType } from "viem";
import { watchContractEvent } from "viem/actions";
import { jobMarketplaceWithModelsAbi } from "../abis.ts";
import { decodeContractError, type ContractCallError } from "../errors/contract.ts";
import { toSettlement, type Settlement } from "./getSettlement.ts";

export type WatchSettlementParameters = {
  marketplace: Address;
  /** Only this session's settlement; default every session's. */
  jobId?: bigint | undefined;
  onSettlement: (settlement: Settlement) => void;
  onError?: ((error: ContractCallError | Error) => void) | undefined;
  /** Also report settlements from this block on. */
  fromBlock?: bigint | undefined;
  /** Polling interval in ms; default the client's. */
  pollingInterval?: number | undefined;
};

export type WatchSettlementReturnType = WatchContractEventReturnType;

export type WatchSettlementErrorType = ContractCallError;

/**
 * Calls `onSettlement` when sessions end and settle (`SessionCompleted`, whichever way they
 * ended). Returns a function that stops watching.
 *
 * @example
 * const unwatch = watchSettlement(client, {
 *   marketplace,
 *   jobId: session.jobId,
 *   onSettlement: ({ provenTokens, hostEarnings, treasuryFee, refund }) => unwatch(),
 * });
 */
export function watchSettlement(client: Client, parameters: WatchSettlementParameters): WatchSettlementReturnType {
  const { jobId } = parameters;
  return watchContractEvent(client, {
    address: parameters.marketplace,
    abi: jobMarketplaceWithModelsAbi,
    eventName: "SessionCompleted",
    args: jobId === undefined ? {} : { jobId },
    strict: true,
    fromBlock: parameters.fromBlock,
    pollingInterval: parameters.pollingInterval,
    onLogs: (logs) => {
      for (const log of logs) parameters.onSettlement(toSettlement(log));
    },
    onError: (error) => parameters.onError?.(decodeContractError(error, { functionName: "watch SessionCompleted" })),
  });
}
