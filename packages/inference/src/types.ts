import type { InferenceError } from "./errors.ts";
import type { DeltaSink, StreamEnd } from "./pushStream.ts";

/** One chat turn, as in OpenAI's chat completions API. */
export type ChatMessage = { role: "system" | "user" | "assistant"; content: string };

/** A chat completion request. Fields mean what they mean in OpenAI's API. */
export type ChatRequest = {
  messages: ChatMessage[];
  /** Most completion tokens to generate. Default: as many as fit in the context (embedded) or the server's default. */
  maxTokens?: number;
  /** Sampling temperature; 0 is greedy. Default 1, as in OpenAI's API. */
  temperature?: number;
  /** Nucleus sampling: sample from the smallest set of tokens whose probability reaches `topP`. Default 1 (off). */
  topP?: number;
  /** Generation stops before the first occurrence of any of these strings; the string is not returned. */
  stop?: string[];
  /** Seed for sampling, for reproducible output at temperature > 0. */
  seed?: number;
};

/**
 * Tokens counted by the serving model's own tokenizer. These numbers are what a user pays for.
 * - `promptTokens`: tokens of the templated prompt that the model evaluated.
 * - `completionTokens`: tokens the model generated, including an end marker it emitted and tokens
 *   of a stop sequence that were generated but not returned.
 */
export type Usage = { promptTokens: number; completionTokens: number };

/**
 * Why generation ended: `stop` (the model ended its turn or a stop sequence matched), `length`
 * (`maxTokens` or the context was reached) or `abort` (the caller's signal fired).
 */
export type FinishReason = "stop" | "length" | "abort";

/**
 * A part of a streamed response. A stream is zero or more `text-delta` parts followed by exactly
 * one `finish` or one `error` part.
 */
export type StreamPart =
  { type: "text-delta"; text: string } | { type: "finish"; finishReason: FinishReason; usage: Usage } | { type: "error"; error: InferenceError };

/** What {@link ChatBackend.generate} resolves to. */
export type GenerateResult = { text: string; finishReason: FinishReason; usage: Usage };

/** Per-call options. */
export type CallOptions = {
  /** Aborting ends generation with finish reason `abort` and the usage of what was generated. */
  signal?: AbortSignal;
};

/**
 * A chat model behind one small, versioned interface (after the Vercel AI SDK's
 * `LanguageModelV1`). Every implementation reports exact token counts or fails with a typed
 * error; none estimates a billable count.
 */
export interface ChatBackend {
  readonly specificationVersion: "v1";
  /** What produces the tokens, e.g. `embedded` or `openai-compatible`. */
  readonly provider: string;
  /** The model's name as served in `/v1/models`. */
  readonly modelId: string;
  /**
   * Generates one assistant turn. Rejects with an {@link InferenceError}; an abort is not an
   * error: it resolves with finish reason `abort`.
   */
  generate(request: ChatRequest, options?: CallOptions): Promise<GenerateResult>;
  /**
   * Streams one assistant turn. Never throws: failures arrive as a final `error` part.
   */
  stream(request: ChatRequest, options?: CallOptions): AsyncIterable<StreamPart>;
  /**
   * Optional: streams one turn by pushing each delta into `sink` synchronously as it arrives (no
   * promise per token), resolving with the end part (`undefined` when the sink stopped it). Never
   * rejects. Callers use `pushStream(backend, …)`, which falls back on `stream` without it.
   */
  pushStream?(request: ChatRequest, sink: DeltaSink, options?: CallOptions): Promise<StreamEnd | undefined>;
  /** Releases the model or connections. Calls after `close` fail with `BackendClosedError`. */
  close(): Promise<void>;
}
