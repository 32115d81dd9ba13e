import {
  BaseError,
  HttpRequestError,
  InternalRpcError,
  LimitExceededRpcError,
  ResourceUnavailableRpcError,
  SocketClosedError,
  TimeoutError,
  WebSocketRequestError,
} from "viem";

/**
 * True for failures worth retrying unchanged: the RPC endpoint was unreachable, slow, rate
 * limited or briefly broken. Reverts, bad parameters and nonce conflicts are not: retrying them
 * as they are cannot succeed.
 */
export function isRetryableError(error: unknown): boolean {
  // Errors of other layers (the SDK's ContractCallError, HostError) wrap viem's: look through them.
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (current instanceof BaseError) return isRetryableViemError(current);
    if (isNetworkError(current)) return true;
  }
  return false;
}

function isRetryableViemError(error: BaseError): boolean {
  const found = error.walk(
    (cause) =>
      cause instanceof TimeoutError ||
      cause instanceof SocketClosedError ||
      cause instanceof WebSocketRequestError ||
      cause instanceof LimitExceededRpcError ||
      cause instanceof ResourceUnavailableRpcError ||
      cause instanceof InternalRpcError ||
      (cause instanceof HttpRequestError && (cause.status === undefined || cause.status === 429 || cause.status >= 500)),
  );
  return found !== null && found !== undefined;
}

function isNetworkError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN"].includes(code);
}

export type RetryParameters = {
  /** Attempts after the first one; default 5. */
  retries?: number;
  /** First back-off in milliseconds, doubled per attempt up to `maxDelayMs`; default 250. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  onRetry?: (error: unknown, attempt: number) => void;
};

/** Runs `task`, retrying it with exponential back-off while it fails with a retryable error. */
export async function withRetry<T>(task: () => Promise<T>, parameters: RetryParameters = {}): Promise<T> {
  const retries = parameters.retries ?? 5;
  const baseDelayMs = parameters.baseDelayMs ?? 250;
  const maxDelayMs = parameters.maxDelayMs ?? 10_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await task();
    } catch (error) {
      if (attempt >= retries || !isRetryableError(error) || parameters.signal?.aborted) throw error;
      parameters.onRetry?.(error, attempt + 1);
      await sleep(Math.min(maxDelayMs, baseDelayMs * 2 ** attempt), parameters.signal);
    }
  }
}

/** Resolves after `ms`, or early (without error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
