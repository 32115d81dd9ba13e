import { stringToBytes } from "viem";
import { completionTokenBound, type SessionUsage } from "@session-jobs/protocol";
import type { TokenCountViolation } from "../errors/session.ts";
import { billedTokensOf } from "./billedAnswers.ts";
import type { BilledAnswer, CountCheckOptions } from "./types.ts";

export const defaultCountCheck: Required<CountCheckOptions> = {
  promptOverheadPerMessage: 32,
  promptOverheadPerRequest: 32,
  maxAnswerBytesPerToken: 256,
};

export type CheckTokenCountsParameters = {
  /** The chat request body as sent. */
  request: { messages?: unknown; tools?: unknown; max_tokens?: unknown; max_completion_tokens?: unknown; stop?: unknown };
  /** The assistant text delivered. */
  responseText: string;
  /** The host's claim. */
  usage: SessionUsage;
  /** Tokens covered by the client's newest receipt before this exchange. */
  previousCumulativeTokens: bigint;
  options?: CountCheckOptions | undefined;
  /** The session's accepted answers: sent back as assistant messages, each counts at the completion tokens billed for it. */
  billedAnswers?: readonly BilledAnswer[] | undefined;
};

/**
 * The client-side count check (docs/design.md): the client cannot run the host's tokenizer, so it
 * bounds the claim by what it can see. No tokenizer emits more tokens than UTF-8 bytes (bar one
 * end marker), the completion cannot exceed `max_tokens`, the prompt cannot exceed the bytes of
 * the request's text plus a template overhead, and the cumulative total must add up exactly. The
 * other way round, no answer holds more than `maxAnswerBytesPerToken` bytes per completion token
 * (plus one), and one of the session's own answers sent back as history counts at the completion
 * tokens billed for it, so text a host hid in an answer is not billed again as prompt.
 * Returns the broken bounds; an empty list means the claim may be signed.
 */
export function checkTokenCounts(parameters: CheckTokenCountsParameters): TokenCountViolation[] {
  const { request, responseText, usage, previousCumulativeTokens } = parameters;
  const options = { ...defaultCountCheck, ...parameters.options };
  const violations: TokenCountViolation[] = [];

  for (const [field, value] of [
    ["promptTokens", usage.promptTokens],
    ["completionTokens", usage.completionTokens],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0)
      violations.push({ field, claimed: BigInt(Math.trunc(Number(value) || 0)), limit: 0n, reason: "not a non-negative integer" });
  }
  if (violations.length > 0) return violations;
  const promptTokens = BigInt(usage.promptTokens);
  const completionTokens = BigInt(usage.completionTokens);

  const maxTokens = [request.max_completion_tokens, request.max_tokens].find((value) => typeof value === "number");
  if (typeof maxTokens === "number" && completionTokens > BigInt(maxTokens))
    violations.push({ field: "completionTokens", claimed: completionTokens, limit: BigInt(maxTokens), reason: "more than max_tokens" });

  const completionLimit = BigInt(completionTokenBound(responseText, request.stop));
  if (completionTokens > completionLimit)
    violations.push({
      field: "completionTokens",
      claimed: completionTokens,
      limit: completionLimit,
      reason: "more than the UTF-8 bytes delivered plus one end marker and the longest stop sequence",
    });

  const answerBytes = BigInt(stringToBytes(responseText).length);
  const fewestCompletionTokens = ceilDiv(answerBytes, BigInt(options.maxAnswerBytesPerToken)) - 1n;
  if (completionTokens < fewestCompletionTokens)
    violations.push({
      field: "completionTokens",
      claimed: completionTokens,
      limit: fewestCompletionTokens,
      reason: `fewer than the answer's UTF-8 bytes allow (at most ${options.maxAnswerBytesPerToken} a token, plus one token): text billed far below its size`,
    });

  const messages = Array.isArray(request.messages) ? request.messages : [];
  const promptLimit =
    messages.reduce((sum: bigint, message) => sum + messageBound(message, parameters.billedAnswers), 0n) +
    (request.tools === undefined ? 0n : BigInt(stringToBytes(JSON.stringify(request.tools)).length)) +
    BigInt(options.promptOverheadPerMessage) * BigInt(messages.length) +
    BigInt(options.promptOverheadPerRequest);
  if (promptTokens > promptLimit)
    violations.push({
      field: "promptTokens",
      claimed: promptTokens,
      limit: promptLimit,
      reason: "more than the UTF-8 bytes of the request's text plus template overhead",
    });

  const expectedCumulative = previousCumulativeTokens + promptTokens + completionTokens;
  const claimedCumulative = /^\d+$/.test(String(usage.cumulativeTokens)) ? BigInt(usage.cumulativeTokens) : -1n;
  if (claimedCumulative !== expectedCumulative)
    violations.push({
      field: "cumulativeTokens",
      claimed: claimedCumulative,
      limit: expectedCumulative,
      reason: "not the previous receipt's total plus this exchange's tokens",
    });
  return violations;
}

/**
 * The most prompt tokens a message's text can make: its UTF-8 bytes, except that an assistant
 * message which is one of the session's accepted answers counts its content at the completion
 * tokens billed for it (a tokenizer makes of an answer about the tokens it generated), if fewer.
 */
function messageBound(message: unknown, billedAnswers: readonly BilledAnswer[] | undefined): bigint {
  const bytes = textBytes(message);
  const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
  if (role !== "assistant" || typeof content !== "string") return bytes;
  const billed = billedTokensOf(billedAnswers, content);
  if (billed === undefined) return bytes;
  const contentBytes = BigInt(stringToBytes(content).length);
  return bytes - contentBytes + (BigInt(billed) < contentBytes ? BigInt(billed) : contentBytes);
}

const ceilDiv = (numerator: bigint, denominator: bigint) => (numerator + denominator - 1n) / denominator;

/** UTF-8 bytes of every string inside a value (message contents, names, tool-call arguments). */
function textBytes(value: unknown): bigint {
  if (typeof value === "string") return BigInt(stringToBytes(value).length);
  if (Array.isArray(value)) return value.reduce((sum: bigint, item) => sum + textBytes(item), 0n);
  if (value !== null && typeof value === "object") return Object.values(value).reduce((sum: bigint, item) => sum + textBytes(item), 0n);
  return 0n;
}
