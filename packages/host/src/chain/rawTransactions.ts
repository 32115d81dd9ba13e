import { BaseError, TransactionReceiptNotFoundError, type Hex, type PublicClient, type TransactionReceipt } from "viem";

/** Runs an RPC call with the sender's back-off for transient failures. */
export type Retry = <T>(task: () => Promise<T>) => Promise<T>;

/**
 * Broadcasts signed bytes: "sent" when a node took them (or already knew them), "dropped" when
 * their nonce was used. Any other failure is thrown.
 */
export async function broadcastRawTransaction(publicClient: PublicClient, retry: Retry, rawTx: Hex): Promise<"sent" | "dropped"> {
  try {
    await retry(() => publicClient.sendRawTransaction({ serializedTransaction: rawTx }));
    return "sent";
  } catch (error) {
    const text = error instanceof BaseError ? `${error.shortMessage} ${error.details}` : String(error);
    if (/already known|already imported|known transaction/i.test(text)) return "sent";
    if (/nonce too low|nonce has already been used|replacement transaction underpriced/i.test(text)) return "dropped";
    throw error;
  }
}

/** The receipt of a mined transaction, or undefined while it is not mined. */
export function findTransactionReceipt(publicClient: PublicClient, retry: Retry, hash: Hex): Promise<TransactionReceipt | undefined> {
  return retry(() => publicClient.getTransactionReceipt({ hash })).catch((error: unknown) => {
    if (error instanceof TransactionReceiptNotFoundError) return undefined;
    throw error;
  });
}
