import { stringToBytes, type Hex } from "viem";
import { keccak256Hex } from "@session-jobs/protocol";
import type { BilledAnswer } from "./types.ts";

/**
 * How many of its newest accepted answers a session remembers (`session.billedAnswers`): a fixed
 * 256 entries of a hash and a count (about 25 kB saved), enough for any history a context window
 * holds. An older answer sent back as history counts at its UTF-8 bytes, which
 * `maxAnswerBytesPerToken` bounds (docs/design.md, "Client-side count check").
 */
export const maxBilledAnswers = 256;

/**
 * keccak256 of the text's UTF-8 bytes, as viem's `keccak256` gives it (sessions saved earlier keep
 * matching), with the protocol's keccak (js-sha3): hashed once per accepted answer and once per
 * assistant message of each request, where viem's took ~3x the CPU (75–82 against 20–27 µs for a
 * 350-byte answer).
 */
const textHash = (text: string): Hex => keccak256Hex(stringToBytes(text));

/**
 * Remembers an accepted answer and the completion tokens billed for it, newest last, keeping at
 * most {@link maxBilledAnswers}. The same text billed twice keeps the larger count, so an honest
 * host's count of that history is never held below what either answer was billed.
 */
export function rememberAnswer(answers: readonly BilledAnswer[] | undefined, text: string, completionTokens: number): BilledAnswer[] {
  const hash = textHash(text);
  const earlier = answers?.find((answer) => answer.textHash === hash);
  const others = (answers ?? []).filter((answer) => answer !== earlier);
  const remembered = { textHash: hash, completionTokens: Math.max(completionTokens, earlier?.completionTokens ?? 0) };
  return [...others, remembered].slice(-maxBilledAnswers);
}

/** The completion tokens billed for `text` if it is one of the remembered answers. */
export function billedTokensOf(answers: readonly BilledAnswer[] | undefined, text: string): number | undefined {
  if (!answers || answers.length === 0) return undefined;
  const hash = textHash(text);
  return answers.find((answer) => answer.textHash === hash)?.completionTokens;
}
