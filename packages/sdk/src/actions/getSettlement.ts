import { parseEventLogs, type Address, type Client, type Hash, type Log } from "viem";
import { getContractEvents } from "viem/actions";
import { jobMarketplaceWithModelsAbi } from "../abis.ts";
import { decodeContractError, type ContractCallError } from "../errors/contract.ts";

export type GetSettlementParameters = {
  marketplace: Address;
  jobId: bigint;
  /** First block to search (the session's `openedAtBlock`). Default: the earliest block. */
  fromBlock?: bigint | undefined;
};

/** How a session was settled, from its `SessionCompleted` event. */
export type Settlement = {
  jobId: bigint;
  /** Who ended it: the depositor, the host, or anyone after a timeout. */
  completedBy: Address;
  provenTokens: bigint;
  /** `provenTokens × pricePerToken`. */
  payment: bigint;
  /** 10% of the payment, to the treasury. */
  treasuryFee: bigint;
  /** The rest of the payment, credited to the host in HostEarnings. */
  hostEarnings: bigint;
  /** Deposit minus payment, back to the depositor. */
  refund: bigint;
  transactionHash: Hash;
  blockNumber: bigint;
};

export type GetSettlementReturnType = Settlement | undefined;

export type GetSettlementErrorType = ContractCallError;

/**
 * Finds a session's settlement on chain; `undefined` while it is still open.
 *
 * @example
 * const settlement = await getSettlement(client, { marketplace, jobId, fromBlock: session.openedAtBlock });
 */
export async function getSettlement(client: Client, parameters: GetSettlementParameters): Promise<GetSettlementReturnType> {
  const { marketplace, jobId } = parameters;
  let logs;
  try {
    logs = await getContractEvents(client, {
      address: marketplace,
      abi: jobMarketplaceWithModelsAbi,
      eventName: "SessionCompleted",
      args: { jobId },
      fromBlock: parameters.fromBlock ?? "earliest",
      strict: true,
    });
  } catch (error) {
    throw decodeContractError(error, { functionName: "getLogs SessionCompleted" });
  }
  const [log] = logs;
  return log ? toSettlement(log) : undefined;
}

type SessionCompletedLog = ReturnType<typeof parseEventLogs<typeof jobMarketplaceWithModelsAbi, true, "SessionCompleted">>[number];

/** A `SessionCompleted` log as a {@link Settlement}. */
export function toSettlement(log: Pick<SessionCompletedLog, "args"> & Pick<Log<bigint, number, false>, "transactionHash" | "blockNumber">): Settlement {
  return { ...log.args, transactionHash: log.transactionHash, blockNumber: log.blockNumber };
}

/** The settlement in a transaction's logs, if it settled a given job on a given marketplace. */
export function settlementFromLogs(logs: readonly Log[], parameters: { marketplace: Address; jobId: bigint }): Settlement | undefined {
  const log = parseEventLogs({ abi: jobMarketplaceWithModelsAbi, logs: [...logs], eventName: "SessionCompleted", strict: true }).find(
    (entry) => entry.address.toLowerCase() === parameters.marketplace.toLowerCase() && entry.args.jobId === parameters.jobId,
  );
  return log ? toSettlement(log) : undefined;
}
