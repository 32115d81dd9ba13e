/** TEST HELPER: whether the parts of a sync answer line up as the SDK's `reconcile` checks them. */
import { emptyTranscriptHash } from "@session-jobs/protocol";
import type { Hex } from "viem";

type Position = { cumulativeTokens: number | string; transcriptHash: Hex };
type Link = Position & { previousTranscriptHash: Hex };

/**
 * Where the exchanges lead from the receipt (the empty transcript without one), walked as the SDK
 * walks them: from the exchange built on that position, each on the one before. An honest,
 * consistent answer reaches its head; anything else the SDK takes for a host that lies (a dispute).
 */
export function reachedFromReceipt(receipt: Position | undefined | null, exchanges: readonly Link[]): { cumulativeTokens: number; transcriptHash: Hex } {
  let position = receipt
    ? { cumulativeTokens: Number(receipt.cumulativeTokens), transcriptHash: receipt.transcriptHash }
    : { cumulativeTokens: 0, transcriptHash: emptyTranscriptHash };
  const start = exchanges.findIndex((exchange) => exchange.previousTranscriptHash === position.transcriptHash);
  for (const exchange of start === -1 ? [] : exchanges.slice(start)) {
    if (exchange.previousTranscriptHash !== position.transcriptHash) break;
    position = { cumulativeTokens: Number(exchange.cumulativeTokens), transcriptHash: exchange.transcriptHash };
  }
  return position;
}
