import type { Client, Hash, TransactionReceipt } from "viem";
import { waitForTransactionReceipt } from "viem/actions";
import { decodeContractError, TransactionRevertedError } from "../errors/contract.ts";

/**
 * Sends a transaction (gas estimation replays it first, so a revert surfaces with its reason) and
 * waits until it is mined. Every failure comes back as a typed SDK error.
 */
export async function writeAndWait(client: Client, functionName: string, send: () => Promise<Hash>): Promise<TransactionReceipt> {
  let hash: Hash;
  try {
    hash = await send();
  } catch (error) {
    throw decodeContractError(error, { functionName });
  }
  let receipt: TransactionReceipt;
  try {
    receipt = await waitForTransactionReceipt(client, { hash });
  } catch (error) {
    throw decodeContractError(error, { functionName });
  }
  if (receipt.status !== "success") throw new TransactionRevertedError({ transactionHash: hash, functionName });
  return receipt;
}
