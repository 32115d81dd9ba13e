import type { Hex } from "viem";
import type { RecordedExchange } from "./headers.ts";

/** One exchange as a host keeps it for `POST /v1/session/sync`. */
export type RecordedExchangeSource = {
  sequence: bigint;
  requestBody: Uint8Array;
  requestSignature: Hex;
  previousTranscriptHash: Hex;
  responseText: string;
  promptTokens: number;
  completionTokens: number;
  cumulativeTokens: bigint | number;
  transcriptHash: Hex;
  aborted: boolean;
};

/** The wire form of a recorded exchange in a sync answer (request body as base64). */
export function encodeRecordedExchange(exchange: RecordedExchangeSource): RecordedExchange {
  return {
    sequence: exchange.sequence.toString(),
    requestBody: bytesToBase64(exchange.requestBody),
    requestSignature: exchange.requestSignature,
    previousTranscriptHash: exchange.previousTranscriptHash,
    responseText: exchange.responseText,
    promptTokens: exchange.promptTokens,
    completionTokens: exchange.completionTokens,
    cumulativeTokens: exchange.cumulativeTokens.toString(),
    transcriptHash: exchange.transcriptHash,
    aborted: exchange.aborted,
  };
}

/** Standard base64 of bytes (works in browsers and Node alike). */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Bytes of a standard base64 string; throws on anything that is not base64. */
export function base64ToBytes(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
}
