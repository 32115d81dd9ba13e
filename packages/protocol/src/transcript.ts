import { encodeAbiParameters, keccak256, stringToBytes, type Hex } from "viem";

/** The transcript hash before any exchange. */
export const emptyTranscriptHash: Hex = `0x${"00".repeat(32)}`;

/** One request/response exchange as both sides saw it. */
export type TranscriptExchange = {
  /** The exact HTTP body bytes the client sent. */
  requestBody: Uint8Array;
  /** The assistant text delivered (streamed deltas concatenated). */
  responseText: string;
  promptTokens: number;
  completionTokens: number;
};

/**
 * Extends a transcript hash by one exchange:
 * `keccak256(abi.encode(previous, keccak256(body), keccak256(utf8(text)), promptTokens, completionTokens))`.
 * Client and host compute it independently; a receipt binds the payer to it.
 */
export function nextTranscriptHash(previous: Hex, exchange: TranscriptExchange): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }, { type: "uint256" }],
      [
        previous,
        keccak256(exchange.requestBody),
        keccak256(stringToBytes(exchange.responseText)),
        BigInt(exchange.promptTokens),
        BigInt(exchange.completionTokens),
      ],
    ),
  );
}
