import { stringToBytes, type Hex } from "viem";
import { bytes32Word, uint256Word } from "./abiWords.ts";
import { keccak256Bytes, keccak256Hex } from "./keccak.ts";

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
  // abi.encode of five static words is their concatenation: built straight into bytes, as the
  // client and the host hash every exchange's answer (once per exchange, both sides).
  const encoded = new Uint8Array(5 * 32);
  encoded.set(bytes32Word("previous transcript hash", previous), 0);
  encoded.set(keccak256Bytes(exchange.requestBody), 32);
  encoded.set(keccak256Bytes(stringToBytes(exchange.responseText)), 64);
  encoded.set(uint256Word("promptTokens", BigInt(exchange.promptTokens)), 96);
  encoded.set(uint256Word("completionTokens", BigInt(exchange.completionTokens)), 128);
  return keccak256Hex(encoded);
}
