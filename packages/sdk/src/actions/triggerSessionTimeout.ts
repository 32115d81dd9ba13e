import type { Account, Address, Chain, Client, Transport } from "viem";
import { writeContract } from "viem/actions";
import { marketplaceAbi } from "../abis.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import type { ContractCallError, ContractRevertError, TransactionRevertedError, UnknownContractRevertError } from "../errors/contract.ts";
import { SessionProtocolError } from "../errors/session.ts";
import { settlementFromLogs, type Settlement } from "./getSettlement.ts";

export type TriggerSessionTimeoutParameters = { marketplace: Address; jobId: bigint };

export type TriggerSessionTimeoutReturnType = Settlement;

/**
 * `SessionNotExpired` (errorName, with the expiry time) before `createdAt + maxDuration`;
 * `SessionNotActive` once the session has ended. Neither sends a transaction.
 */
export type TriggerSessionTimeoutErrorType =
  ContractRevertError | UnknownContractRevertError | TransactionRevertedError | ContractCallError | SessionProtocolError;

/**
 * Ends a session whose `maxDuration` has passed and settles what was proven: the host is paid for
 * proven tokens, the rest of the deposit goes back to the depositor. Anyone may call it, so a
 * depositor whose host disappeared gets the unused deposit back without the host.
 *
 * @example
 * const { refund } = await triggerSessionTimeout(walletClient, { marketplace, jobId: 7n });
 */
export async function triggerSessionTimeout(
  client: Client<Transport, Chain | undefined, Account>,
  parameters: TriggerSessionTimeoutParameters,
): Promise<TriggerSessionTimeoutReturnType> {
  const { marketplace, jobId } = parameters;
  const receipt = await writeAndWait(client, "triggerSessionTimeout", () =>
    writeContract(client, {
      address: marketplace,
      abi: marketplaceAbi,
      functionName: "triggerSessionTimeout",
      args: [jobId],
      account: client.account,
      chain: client.chain ?? null,
    }),
  );
  const settlement = settlementFromLogs(receipt.logs, { marketplace, jobId });
  if (!settlement) throw new SessionProtocolError(`triggerSessionTimeout emitted no SessionCompleted event for job ${jobId}.`);
  return settlement;
}
