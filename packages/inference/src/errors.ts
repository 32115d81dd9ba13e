import type { FinishReason } from "./types.ts";

/** Machine-readable reason of an {@link InferenceError}. */
export type InferenceErrorCode =
  | "invalid_request"
  | "context_overflow"
  | "backend_closed"
  | "model_load_failed"
  | "unsupported_model"
  | "generation_failed"
  | "upstream_unreachable"
  | "upstream_timeout"
  | "upstream_http_error"
  | "upstream_bad_response"
  | "upstream_missing_usage";

type InferenceErrorParameters = {
  /** Extra detail for logs, e.g. a server's response body. */
  details?: string;
  cause?: unknown;
  /** True where sending the same request again may succeed. */
  retryable?: boolean;
};

/**
 * Base of every error this package raises (after viem's `BaseError`): a stable `code`, a one-line
 * `shortMessage`, optional `details`, and the underlying `cause`.
 */
export class InferenceError extends Error {
  override name = "InferenceError";
  readonly code: InferenceErrorCode;
  readonly shortMessage: string;
  readonly details: string | undefined;
  readonly retryable: boolean;

  constructor(code: InferenceErrorCode, shortMessage: string, parameters: InferenceErrorParameters = {}) {
    const message = parameters.details ? `${shortMessage}\n\nDetails: ${parameters.details}` : shortMessage;
    super(message, parameters.cause === undefined ? undefined : { cause: parameters.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = parameters.details;
    this.retryable = parameters.retryable ?? false;
  }
}

/** The request is malformed (no messages, an unknown role, `maxTokens` < 1, …). */
export class InvalidRequestError extends InferenceError {
  override name = "InvalidRequestError";
  constructor(shortMessage: string) {
    super("invalid_request", shortMessage);
  }
}

/** The prompt does not fit in the model's context with room to generate (`contextOverflow: "error"`, or not even a cut turn fits). */
export class ContextOverflowError extends InferenceError {
  override name = "ContextOverflowError";
  readonly promptTokens: number;
  readonly contextSize: number;
  constructor({ promptTokens, contextSize }: { promptTokens: number; contextSize: number }) {
    super("context_overflow", `A prompt of ${promptTokens} tokens does not fit in a context of ${contextSize} tokens with room to generate.`);
    this.promptTokens = promptTokens;
    this.contextSize = contextSize;
  }
}

/** The backend was closed. */
export class BackendClosedError extends InferenceError {
  override name = "BackendClosedError";
  constructor() {
    super("backend_closed", "The inference backend is closed.");
  }
}

/** The model file could not be loaded. */
export class ModelLoadError extends InferenceError {
  override name = "ModelLoadError";
  constructor(modelPath: string, cause: unknown) {
    super("model_load_failed", `Could not load the model at ${modelPath}.`, { cause, details: errorText(cause) });
  }
}

/** The model loaded but lacks what this backend needs (e.g. the chat template's control tokens). */
export class UnsupportedModelError extends InferenceError {
  override name = "UnsupportedModelError";
  constructor(shortMessage: string) {
    super("unsupported_model", shortMessage);
  }
}

/** The runtime failed while generating. */
export class GenerationError extends InferenceError {
  override name = "GenerationError";
  constructor(cause: unknown) {
    super("generation_failed", "The model failed while generating.", { cause, details: errorText(cause) });
  }
}

/** The upstream server could not be reached (refused, reset, DNS) before it answered. */
export class UpstreamUnreachableError extends InferenceError {
  override name = "UpstreamUnreachableError";
  constructor(url: string, cause: unknown) {
    super("upstream_unreachable", `Cannot reach the inference server at ${url}.`, { cause, details: errorText(cause), retryable: true });
  }
}

/** The upstream server did not answer, or stopped streaming, within the time limit. */
export class UpstreamTimeoutError extends InferenceError {
  override name = "UpstreamTimeoutError";
  readonly timeoutMs: number;
  constructor(url: string, timeoutMs: number) {
    super("upstream_timeout", `The inference server at ${url} did not answer within ${timeoutMs} ms.`, { retryable: true });
    this.timeoutMs = timeoutMs;
  }
}

/** The upstream server answered with an HTTP error status. */
export class UpstreamHttpError extends InferenceError {
  override name = "UpstreamHttpError";
  readonly status: number;
  constructor(url: string, status: number, body: string) {
    super("upstream_http_error", `The inference server at ${url} answered HTTP ${status}.`, {
      details: body.slice(0, 2000) || undefined,
      retryable: status === 429 || status === 503,
    });
    this.status = status;
  }
}

/** The upstream server answered something that is not a valid chat completion. */
export class UpstreamBadResponseError extends InferenceError {
  override name = "UpstreamBadResponseError";
  constructor(shortMessage: string, details?: string) {
    super("upstream_bad_response", shortMessage, { details: details?.slice(0, 2000) });
  }
}

/**
 * The upstream server's response has no token usage, so it cannot be billed: the server does not
 * support `stream_options.include_usage` (vLLM, llama.cpp server, Ollama ≥ 0.5.2 and OpenAI do),
 * or the caller aborted a stream whose server reports usage only at the end. Nothing is billed on
 * a guess; `text` is what was delivered.
 */
export class MissingUsageError extends InferenceError {
  override name = "MissingUsageError";
  readonly text: string;
  readonly finishReason: FinishReason;
  /** The prompt's tokens as the server's tokenizer counted them (its `/tokenize`), when it could say. */
  readonly promptTokens: number | undefined;
  constructor(text: string, finishReason: FinishReason, promptTokens?: number) {
    super(
      "upstream_missing_usage",
      finishReason === "abort"
        ? "The stream was aborted before the inference server reported token usage, so it cannot be billed."
        : "The inference server reported no token usage, so the response cannot be billed.",
      {
        details:
          finishReason === "abort"
            ? "Servers that report usage in every chunk (vLLM: continuousUsage) keep aborted streams billable."
            : "Enable usage reporting on the server (OpenAI API: stream_options.include_usage).",
      },
    );
    this.text = text;
    this.finishReason = finishReason;
    this.promptTokens = promptTokens;
  }
}

function errorText(cause: unknown): string | undefined {
  if (cause instanceof Error) return cause.message;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a non-Error cause is shown as whatever it is
  return cause === undefined ? undefined : String(cause);
}
