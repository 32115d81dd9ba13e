import type { Hex } from "viem";
import type { StoredExchange } from "./storeTypes.ts";

/** One exchange row's values; `B` is how the store spells a boolean. */
export type ExchangeValues<B> = [string, string, number, number, number, Hex, B, number, Hex, Uint8Array, Hex, string];

/** The columns of an exchange row, in the order {@link exchangeValues} gives them (both stores). */
export const exchangeColumns =
  "job_id, sequence, prompt_tokens, completion_tokens, cumulative_tokens, transcript_hash, aborted, created_ms, previous_transcript_hash, request_body, request_signature, response_text";

/** An exchange as the values of one row; `aborted` as the store spells a boolean (SQLite: 1/0). */
export function exchangeValues<B>(exchange: StoredExchange, createdMs: number, flag: (value: boolean) => B): ExchangeValues<B> {
  return [
    exchange.jobId.toString(),
    exchange.sequence.toString(),
    exchange.promptTokens,
    exchange.completionTokens,
    exchange.cumulativeTokens,
    exchange.transcriptHash,
    flag(exchange.aborted),
    createdMs,
    exchange.previousTranscriptHash,
    exchange.requestBody,
    exchange.requestSignature,
    exchange.responseText,
  ];
}
