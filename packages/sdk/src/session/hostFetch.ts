import { HostTimeoutError, HostUnreachableError, parseHostError } from "../errors/host.ts";
import { readPrefix } from "./readBody.ts";
import { followSignal } from "./signals.ts";

/** Transport options every action that talks to a host accepts. */
export type HostRequestOptions = {
  /** Aborts the request. An exchange aborted after it was sent is recovered from the host before the next request (`syncSession`). */
  signal?: AbortSignal | undefined;
  /** A `fetch` implementation; default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch | undefined;
  /**
   * Most ms the host may keep the SDK waiting for a byte: for its first byte, and for each next
   * one while the SDK reads its answer. Default {@link defaultIdleTimeoutMs}. A host that goes
   * silent for longer is unreachable ({@link HostUnreachableError} with code `ETIMEDOUT`).
   */
  timeoutMs?: number | undefined;
};

/** Default idle timeout of a request to a host: far above a model's first token or its pause between tokens. */
export const defaultIdleTimeoutMs = 60_000;

/** The most the SDK reads of a host's error answer: its message fits many times over. */
export const maxErrorBytes = 64 * 1024;

/**
 * A host's answer body, read on the host's clock: each read fails with the errors of
 * {@link fetchHost}. The SDK reads it directly rather than through a second `ReadableStream`
 * wrapped around the response's, which cost a stream hop and a `Response` per answer.
 */
export type HostBody = {
  /** The next bytes, or `done` at the end of the body. */
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /** Stops reading and frees the connection (the host stops generating). */
  cancel(reason?: unknown): Promise<void>;
};

/**
 * Sends one request to a host and returns its answer's body. The host gets
 * {@link HostRequestOptions.timeoutMs} for each byte it owes (headers, then each read of the
 * body); a refusal is read (at most {@link maxErrorBytes}) into the typed error for its code; a
 * failure to connect, a broken connection or a silent host is a {@link HostUnreachableError} that
 * keeps its cause. The caller's own abort is thrown as its reason, by the request and by the body.
 */
export async function fetchHost(url: string, init: RequestInit, options: HostRequestOptions): Promise<HostBody> {
  const timeoutMs = options.timeoutMs ?? defaultIdleTimeoutMs;
  const controller = new AbortController();
  const unfollow = followSignal(options.signal, controller);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const disarm = () => clearTimeout(timer);
  const arm = () => {
    disarm();
    timer = setTimeout(() => controller.abort(new HostTimeoutError({ timeoutMs })), timeoutMs);
  };
  const failure = (cause: unknown): unknown => {
    disarm();
    unfollow();
    if (options.signal?.aborted) return options.signal.reason;
    return new HostUnreachableError({ url, cause: controller.signal.aborted ? controller.signal.reason : cause });
  };

  arm();
  let response: Response;
  try {
    response = await (options.fetch ?? globalThis.fetch)(url, { ...init, signal: controller.signal });
  } catch (cause) {
    throw failure(cause);
  }
  disarm();
  const reader = response.body?.getReader();
  if (!reader) unfollow();
  let finished = !reader;
  // A body that failed keeps failing with the same error: it never passes for one that ended.
  let failed: { error: unknown } | undefined;
  // The host is on the clock while a read waits for it.
  const readOnce = async (): Promise<ReadableStreamReadResult<Uint8Array>> => {
    arm();
    try {
      const next = await reader!.read();
      disarm();
      if (next.done) {
        finished = true;
        unfollow();
      }
      return next;
    } catch (cause) {
      failed = { error: failure(cause) };
      throw failed.error;
    }
  };
  // The first read starts at once, as a stream with a high-water mark of one chunk would: fetch
  // takes no more of a response off its connection until its body is read, so an answer the SDK
  // ignores (a receipt's `{ stored: true }`) must still be read for the connection to go back to
  // the pool (streamExchange keeps a read in flight for the same reason: the end after `[DONE]`).
  let ahead: Promise<ReadableStreamReadResult<Uint8Array>> | undefined = reader && readOnce();
  // Reported to the read that takes it (and every read after).
  ahead?.catch(() => undefined);
  const body: HostBody = {
    read() {
      if (failed) return Promise.reject(failed.error);
      const next = ahead ?? (finished ? Promise.resolve({ done: true as const, value: undefined }) : readOnce());
      ahead = undefined;
      return next;
    },
    // Cancelling a fetch body aborts its fetch (Fetch standard; undici too), so the request's
    // signal is not fired as well: that dispatch and its DOMException were a tenth of the SDK's
    // CPU per streamed answer, as every stream is cancelled once its `[DONE]` arrived.
    async cancel(reason) {
      ahead = undefined;
      if (finished || failed) return;
      finished = true;
      disarm();
      unfollow();
      await reader!.cancel(reason).catch(() => undefined);
    },
  };
  if (!response.ok) throw parseHostError({ status: response.status, url, body: await readPrefix(body, maxErrorBytes) });
  return body;
}
