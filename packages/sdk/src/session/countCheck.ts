import { stringToBytes } from "viem";
import { completionTokenBound, type SessionUsage } from "@session-jobs/protocol";
import type { TokenCountViolation } from "../errors/session.ts";
import type { CountCheckOptions } from "./types.ts";

export const defaultCountCheck: Required<CountCheckOptions> = {
  promptOverheadPerMessage: 32,
  promptOverheadPerRequest: 32,
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
};

/**
 * The client-side count check (docs/design.md): the client cannot run the host's tokenizer, so it
 * bounds the claim by what it can see. No tokenizer emits more tokens than UTF-8 bytes (bar one
 * end marker), the completion cannot exceed `max_tokens`, the prompt cannot exceed the bytes of
 * the request's text plus a template overhead, and the cumulative total must add up exactly.
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

  const messages = Array.isArray(request.messages) ? request.messages : [];
  const promptLimit =
    textBytes(messages) +
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

/** UTF-8 bytes of every string inside a value (message contents, names, tool-call arguments). */
function textBytes(value: unknown): bigint {
  if (typeof value === "string") return BigInt(stringToBytes(value).length);
  if (Array.isArray(value)) return value.reduce((sum: bigint, item) => sum + textBytes(item), 0n);
  if (value !== null && typeof value === "object") return Object.values(value).reduce((sum: bigint, item) => sum + textBytes(item), 0n);
  return 0n;
}
