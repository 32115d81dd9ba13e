import { completionTokenBound } from "@session-jobs/protocol";

/** What the host reserved for one exchange before generating, and so the most it may bill. */
export type ExchangeBudget = {
  /** The prompt's bound: UTF-8 bytes plus `limits.promptTokensPerMessage` per message (reserved against the deposit). */
  promptTokensEstimate: number;
  maxTokens: number;
  /** The request's stop sequences: generated and billed, but cut from the text. */
  stop?: readonly string[] | undefined;
};

export type TokenUsage = { promptTokens: number; completionTokens: number };

/**
 * The most an exchange may bill, whatever the backend reports: the prompt at the estimate the
 * deposit check reserved, the completion at `max_tokens` and at the UTF-8 bytes delivered plus one
 * end marker and the longest stop sequence (no tokenizer makes more tokens than bytes). These are
 * within what the SDK's count check accepts (the same `completionTokenBound`), but for two bounds
 * only the backend's tokenizer keeps: the SDK counts an answer it accepted, sent back as history,
 * at the completion tokens billed for it, and refuses an answer of more than 256 bytes a completion
 * token (docs/design.md, "Client-side count check"). Returns the usage to bill and the fields that
 * were over.
 */
export function boundUsage(usage: TokenUsage, budget: ExchangeBudget, responseText: string): { billed: TokenUsage; over: (keyof TokenUsage)[] } {
  const limits: TokenUsage = {
    promptTokens: budget.promptTokensEstimate,
    completionTokens: Math.min(budget.maxTokens, completionTokenBound(responseText, budget.stop)),
  };
  const over = (["promptTokens", "completionTokens"] as const).filter((field) => usage[field] > limits[field]);
  return {
    billed: { promptTokens: Math.min(usage.promptTokens, limits.promptTokens), completionTokens: Math.min(usage.completionTokens, limits.completionTokens) },
    over,
  };
}
