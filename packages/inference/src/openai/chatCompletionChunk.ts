import { UpstreamBadResponseError } from "../errors.ts";
import type { FinishReason, Usage } from "../types.ts";

/** What one chunk (or a whole non-streamed completion) of an OpenAI-compatible server says. */
export type ParsedChunk = {
  text: string;
  finishReason: FinishReason | undefined;
  usage: Usage | undefined;
};

/**
 * Reads a `chat.completion.chunk` (or a `chat.completion`) as OpenAI, vLLM, llama.cpp server and
 * Ollama send it. Usage may ride on a chunk of its own with empty `choices` (OpenAI, vLLM,
 * Ollama) or on the chunk with `finish_reason` (llama.cpp server).
 */
export function parseChatCompletionChunk(json: unknown): ParsedChunk {
  if (!isObject(json)) throw new UpstreamBadResponseError("The inference server sent a chunk that is not a JSON object.", JSON.stringify(json));
  if (json.error !== undefined && json.error !== null) {
    throw new UpstreamBadResponseError(`The inference server reported an error: ${errorMessage(json.error)}`, JSON.stringify(json.error));
  }
  if (json.object === "error") {
    // vLLM's ErrorResponse, sent as an event when generation fails mid-stream
    throw new UpstreamBadResponseError(`The inference server reported an error: ${errorMessage(json)}`, JSON.stringify(json));
  }
  const choices = json.choices;
  if (!Array.isArray(choices)) throw new UpstreamBadResponseError("The inference server sent a chunk without `choices`.", JSON.stringify(json));
  let text = "";
  let finishReason: FinishReason | undefined;
  for (const choice of choices) {
    if (!isObject(choice) || (choice.index ?? 0) !== 0) continue;
    const message = isObject(choice.delta) ? choice.delta : isObject(choice.message) ? choice.message : {};
    if (typeof message.content === "string") text += message.content;
    if (typeof choice.finish_reason === "string") finishReason = mapFinishReason(choice.finish_reason);
  }
  return { text, finishReason, usage: parseUsage(json.usage) };
}

function parseUsage(usage: unknown): Usage | undefined {
  if (usage === undefined || usage === null) return undefined;
  if (!isObject(usage) || !isCount(usage.prompt_tokens) || !isCount(usage.completion_tokens)) {
    throw new UpstreamBadResponseError("The inference server sent malformed `usage`.", JSON.stringify(usage));
  }
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
}

/** OpenAI's reasons beyond stop and length (`tool_calls`, `content_filter`, …) all mean the model stopped. */
function mapFinishReason(reason: string): FinishReason {
  return reason === "length" ? "length" : "stop";
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorMessage(error: unknown): string {
  if (isObject(error) && typeof error.message === "string") return error.message;
  return typeof error === "string" ? error : JSON.stringify(error);
}
