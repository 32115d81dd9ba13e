import type { ChatMessage, ChatRequest } from "@session-jobs/inference";
import { HostError } from "../errors.ts";

/** An OpenAI chat completion request, validated and mapped to the backend's request. */
export type ParsedChatRequest = {
  request: ChatRequest & { maxTokens: number };
  stream: boolean;
  model: string | undefined;
};

const roles = new Set(["system", "user", "assistant", "developer"]);

/** Absent, null or an empty list: what frameworks send (or copy back into a history) for "no tools". */
const isNothing = (value: unknown) => value === undefined || value === null || (Array.isArray(value) && value.length === 0);

const isEmptyObject = (value: unknown) => typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;

/**
 * OpenAI options the backends cannot honour, each with the refusal for a value other than its
 * default. The default itself (and null) is accepted: clients such as LangChain send it explicitly.
 */
const unsupportedOptions: ReadonlyArray<{ field: string; isDefault: (value: unknown) => boolean; refusal: string }> = [
  { field: "presence_penalty", isDefault: (value) => value === 0, refusal: "presence_penalty is not supported; leave it out or send 0" },
  { field: "frequency_penalty", isDefault: (value) => value === 0, refusal: "frequency_penalty is not supported; leave it out or send 0" },
  {
    field: "response_format",
    isDefault: (value) => typeof value === "object" && value !== null && (value as { type?: unknown }).type === "text",
    refusal: 'response_format is not supported; leave it out or send {"type":"text"}',
  },
  { field: "logprobs", isDefault: (value) => value === false, refusal: "logprobs are not supported; leave logprobs out or send false" },
  { field: "top_logprobs", isDefault: (value) => value === 0, refusal: "logprobs are not supported; leave top_logprobs out or send 0" },
  { field: "logit_bias", isDefault: isEmptyObject, refusal: "logit_bias is not supported; leave it out or send {}" },
  {
    field: "modalities",
    isDefault: (value) => Array.isArray(value) && value.length === 1 && value[0] === "text",
    refusal: 'modalities is not supported; leave it out or send ["text"]',
  },
];

/**
 * Validates the OpenAI body fields the host honours (`messages`, `model`, `max_tokens` /
 * `max_completion_tokens`, `temperature`, `top_p`, `stop`, `seed`, `stream`, `stream_options`)
 * and refuses the ones it cannot honour ({@link unsupportedOptions} away from their defaults,
 * `n` > 1, tools) rather than ignoring them.
 */
export function parseChatRequest(body: Record<string, unknown>, limits: { defaultMaxTokens: number; maxTokens: number }): ParsedChatRequest {
  const invalid = (message: string): never => {
    throw new HostError("invalid_request", message);
  };
  if (!Array.isArray(body.messages) || body.messages.length === 0) invalid("messages must be a non-empty array");
  const messages = (body.messages as unknown[]).map((message, index): ChatMessage => {
    if (typeof message !== "object" || message === null) return invalid(`messages[${index}] must be an object`);
    const { role, content, tool_calls: toolCalls, function_call: functionCall } = message as Record<string, unknown>;
    if (role === "tool" || role === "function") return invalid(`messages[${index}]: tool messages are not supported`);
    if (typeof role !== "string" || !roles.has(role)) return invalid(`messages[${index}].role must be system, developer, user or assistant`);
    if (!isNothing(toolCalls) || !isNothing(functionCall)) return invalid(`messages[${index}]: tool calls are not supported`);
    return { role: role === "developer" ? "system" : (role as ChatMessage["role"]), content: messageText(content, index, invalid) };
  });

  if (body.model !== undefined && typeof body.model !== "string") invalid("model must be a string");
  if (body.n !== undefined && body.n !== null && body.n !== 1) invalid("n must be 1");
  if (!isNothing(body.tools) || !isNothing(body.functions)) invalid("tools are not supported");
  for (const { field, isDefault, refusal } of unsupportedOptions) {
    const value = body[field];
    if (value !== undefined && value !== null && !isDefault(value)) invalid(refusal);
  }

  const maxTokensField = body.max_completion_tokens ?? body.max_tokens;
  let maxTokens = limits.defaultMaxTokens;
  if (maxTokensField !== undefined && maxTokensField !== null) {
    if (typeof maxTokensField !== "number" || !Number.isSafeInteger(maxTokensField) || maxTokensField < 1) invalid("max_tokens must be a positive integer");
    if ((maxTokensField as number) > limits.maxTokens) invalid(`max_tokens must be at most ${limits.maxTokens}`);
    maxTokens = maxTokensField as number;
  }

  const request: ParsedChatRequest["request"] = { messages, maxTokens };
  if (body.temperature !== undefined && body.temperature !== null) {
    if (typeof body.temperature !== "number" || body.temperature < 0 || body.temperature > 2) invalid("temperature must be a number in 0..2");
    request.temperature = body.temperature as number;
  }
  if (body.top_p !== undefined && body.top_p !== null) {
    if (typeof body.top_p !== "number" || !(body.top_p >= 0 && body.top_p <= 1)) invalid("top_p must be a number in 0..1");
    // OpenAI takes 0 (only the likeliest token); the backends' nucleus needs a positive share, and the smallest one is that token alone.
    request.topP = Math.max(body.top_p as number, Number.MIN_VALUE);
  }
  if (body.stop !== undefined && body.stop !== null) {
    const stop = typeof body.stop === "string" ? [body.stop] : body.stop;
    if (!Array.isArray(stop) || stop.length > 4 || !stop.every((item) => typeof item === "string" && item.length > 0))
      invalid("stop must be a string or up to 4 non-empty strings");
    request.stop = stop as string[];
  }
  if (body.seed !== undefined && body.seed !== null) {
    if (typeof body.seed !== "number" || !Number.isSafeInteger(body.seed)) invalid("seed must be an integer");
    request.seed = body.seed as number;
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") invalid("stream must be a boolean");
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && (typeof streamOptions !== "object" || Array.isArray(streamOptions)))
    invalid("stream_options must be an object");

  return { request, stream: body.stream === true, model: body.model as string | undefined };
}

function messageText(content: unknown, index: number, invalid: (message: string) => never): string {
  if (typeof content === "string") return content;
  // The content-parts form: only text parts can be served by a text model.
  if (Array.isArray(content)) {
    return content
      .map((part, partIndex) => {
        const { type, text } = (part ?? {}) as Record<string, unknown>;
        if (type !== "text" || typeof text !== "string") return invalid(`messages[${index}].content[${partIndex}] must be a text part`);
        return text;
      })
      .join("");
  }
  return invalid(`messages[${index}].content must be a string or text parts`);
}

/**
 * An upper bound on the prompt's size in tokens, for the deposit check before generation: no
 * tokenizer makes more tokens than UTF-8 bytes, plus a chat template's per-message overhead.
 */
export function estimatePromptTokens(request: ChatRequest, tokensPerMessage: number): number {
  return request.messages.reduce((total, message) => total + Buffer.byteLength(message.content, "utf8") + tokensPerMessage, 0);
}

/**
 * What the host bills for a prompt it evaluated but could not count (an upstream stopped before
 * reporting usage, with no tokenizer to ask): {@link estimatePromptTokens} with each assistant
 * message's content at no tokens. A client's count check bounds an assistant message that is one
 * of its own answers by the completion tokens billed for it, which the host does not keep at hand,
 * so it bills only what every client accepts and forgoes that history's tokens for this one request.
 */
export function uncountedPromptTokens(request: ChatRequest, tokensPerMessage: number): number {
  const messages = request.messages.map((message) => (message.role === "assistant" ? { ...message, content: "" } : message));
  return estimatePromptTokens({ ...request, messages }, tokensPerMessage);
}
