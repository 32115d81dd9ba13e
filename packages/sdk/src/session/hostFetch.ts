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
 * Sends one request to a host. The host gets {@link HostRequestOptions.timeoutMs} for each byte
 * it owes (headers, then each read of the body); a refusal is read (at most
 * {@link maxErrorBytes}) into the typed error for its code; a failure to connect, a broken
 * connection or a silent host is a {@link HostUnreachableError} that keeps its cause. The caller's
 * own abort is thrown as its reason. The returned body fails with those same errors.
 */
export async function fetchHost(url: string, init: RequestInit, options: HostRequestOptions): Promise<Response> {
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
  if (!response.body) unfollow();

  const reader = response.body?.getReader();
  // The host is only on the clock while the SDK waits for it: a slow reader is no silent host.
  const body =
    reader &&
    new ReadableStream<Uint8Array>({
      async pull(stream) {
        arm();
        try {
          const next = await reader.read();
          disarm();
          if (next.done) {
            unfollow();
            stream.close();
          } else stream.enqueue(next.value);
        } catch (cause) {
          stream.error(failure(cause));
        }
      },
      async cancel(reason) {
        disarm();
        unfollow();
        controller.abort(reason);
        await reader.cancel(reason).catch(() => undefined);
      },
    });
  const watched = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  if (!watched.ok) throw parseHostError({ status: watched.status, url, body: await readPrefix(watched, maxErrorBytes) });
  return watched;
}
