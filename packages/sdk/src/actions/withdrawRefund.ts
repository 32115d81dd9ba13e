import { parseEventLogs, type Account, type Address, type Chain, type Client, type Hash, type Transport } from "viem";
import { writeContract } from "viem/actions";
import { marketplaceAbi } from "../abis.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import type { ContractCallError, ContractRevertError, TransactionRevertedError, UnknownContractRevertError } from "../errors/contract.ts";
import { SessionProtocolError } from "../errors/session.ts";

export type WithdrawRefundParameters = {
  marketplace: Address;
  /** The asset of the refund: the zero address for ETH. */
  token: Address;
  /** Where to send it (`withdrawRefundTo`). Default: the client's account. */
  to?: Address | undefined;
};

export type WithdrawRefundReturnType = {
  token: Address;
  /** The whole pending refund of `token` that was paid out. */
  amount: bigint;
  to: Address;
  transactionHash: Hash;
};

/** `NothingToWithdraw` (errorName) when no refund of `token` is pending: no transaction is sent. */
export type WithdrawRefundErrorType = ContractRevertError | UnknownContractRevertError | TransactionRevertedError | ContractCallError | SessionProtocolError;

/**
 * Withdraws the client account's pending refund of one asset from the marketplace. A refund is
 * pending when settlement could not push it (a depositor contract that refuses ETH, a token that
 * refused the transfer); `listSessions` reports them. The call is simulated first, so with nothing
 * pending it fails with `NothingToWithdraw` before anything is sent.
 *
 * @example
 * const { amount } = await withdrawRefund(walletClient, { marketplace, token: zeroAddress });
 */
export async function withdrawRefund(
  client: Client<Transport, Chain | undefined, Account>,
  parameters: WithdrawRefundParameters,
): Promise<WithdrawRefundReturnType> {
  const { marketplace, token, to } = parameters;
  const account = client.account;
  const chain = client.chain ?? null;
  const functionName = to ? "withdrawRefundTo" : "withdrawRefund";
  const receipt = await writeAndWait(client, functionName, () =>
    to
      ? writeContract(client, { address: marketplace, abi: marketplaceAbi, functionName: "withdrawRefundTo", args: [token, to], account, chain })
      : writeContract(client, { address: marketplace, abi: marketplaceAbi, functionName: "withdrawRefund", args: [token], account, chain }),
  );
  const log = parseEventLogs({ abi: marketplaceAbi, logs: receipt.logs, eventName: "RefundWithdrawn", strict: true }).find(
    (entry) => entry.address.toLowerCase() === marketplace.toLowerCase(),
  );
  if (!log) throw new SessionProtocolError(`${functionName} emitted no RefundWithdrawn event.`);
  return { token: log.args.token, amount: log.args.amount, to: log.args.to, transactionHash: receipt.transactionHash };
}
