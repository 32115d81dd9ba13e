import type { Hex } from "viem";
import type { StoredExchange } from "./storeTypes.ts";

/** One exchange row's values; `B` is how the store spells a boolean, `A` an answer's text. */
export type ExchangeValues<B, A> = [string, string, number, number, number, Hex, B, number, Hex, Uint8Array, Hex, A];

/** How a store spells the values its columns cannot hold as JavaScript gives them. */
export type RowSpelling<B, A> = { flag: (value: boolean) => B; answer: (text: string) => A };

/** The columns of an exchange row, in the order {@link exchangeValues} gives them (both stores). */
export const exchangeColumns =
  "job_id, sequence, prompt_tokens, completion_tokens, cumulative_tokens, transcript_hash, aborted, created_ms, previous_transcript_hash, request_body, request_signature, response_text";

/** An exchange as the values of one row, `aborted` and the answer as the store spells them (SQLite: 1/0 and text; PostgreSQL: UTF-8 bytes). */
export function exchangeValues<B, A>(exchange: StoredExchange, createdMs: number, spell: RowSpelling<B, A>): ExchangeValues<B, A> {
  return [
    exchange.jobId.toString(),
    exchange.sequence.toString(),
    exchange.promptTokens,
    exchange.completionTokens,
    exchange.cumulativeTokens,
    exchange.transcriptHash,
    spell.flag(exchange.aborted),
    createdMs,
    exchange.previousTranscriptHash,
    exchange.requestBody,
    exchange.requestSignature,
    spell.answer(exchange.responseText),
  ];
}

/** SQLite's spelling: booleans as 1/0, an answer as its text (TEXT holds U+0000 there). */
export const sqliteSpelling: RowSpelling<number, string> = { flag: (value) => (value ? 1 : 0), answer: (text) => text };

/** PostgreSQL's spelling: booleans as they are, an answer as its UTF-8 bytes (BYTEA: TEXT cannot hold U+0000). */
export const postgresSpelling: RowSpelling<boolean, Buffer> = { flag: (value) => value, answer: (text) => Buffer.from(text, "utf8") };
