import type { Hex } from "viem";
import type { RecordedExchange } from "./headers.ts";

/**
 * The most bytes a client reads of one host answer (a chat completion, a stream, a sync answer):
 * the SDK stops there (`HostAnswerTooLargeError`). A host keeps its largest sync answer below it
 * (its config check on `limits.maxUnsignedBytes`).
 */
export const maxHostAnswerBytes = 64 * 1024 * 1024;

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

/** Bytes handed to one `String.fromCharCode` call: far below every engine's argument limit. */
const base64Chunk = 8_192;

/** Native encoders where the runtime has one: `Uint8Array.prototype.toBase64` (recent browsers), Node's `Buffer`. */
const nativeToBase64 = (Uint8Array.prototype as { toBase64?: (this: Uint8Array) => string }).toBase64;
const nodeBuffer = (
  globalThis as { Buffer?: { from(...source: [ArrayBufferLike, number, number] | [string, "base64"]): Uint8Array & { toString(encoding: "base64"): string } } }
).Buffer;

/**
 * Standard base64 of bytes, in linear time and with the runtime's native encoder where there is
 * one; elsewhere {@link bytesToBase64Portable}. Never a string per byte: that took a second per
 * 9 MB and stalled a host answering syncs.
 */
export function bytesToBase64(bytes: Uint8Array): string {
  if (nativeToBase64) return nativeToBase64.call(bytes);
  if (nodeBuffer) return nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  return bytesToBase64Portable(bytes);
}

/** Base64 with nothing but `btoa` (any browser): one string per 8 KiB chunk, linear in the length. */
export function bytesToBase64Portable(bytes: Uint8Array): string {
  const chunks: string[] = [];
  for (let start = 0; start < bytes.length; start += base64Chunk)
    chunks.push(String.fromCharCode.apply(null, bytes.subarray(start, start + base64Chunk) as unknown as number[]));
  return btoa(chunks.join(""));
}

/** Bytes of a standard base64 string; throws on anything that is not base64. */
export function base64ToBytes(base64: string): Uint8Array {
  // `atob` is the check (Buffer would skip bad characters); the native decoders are the speed.
  const binary = atob(base64);
  if (nodeBuffer) return new Uint8Array(nodeBuffer.from(base64, "base64"));
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}
