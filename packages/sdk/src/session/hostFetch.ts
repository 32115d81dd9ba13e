import { requestHost } from "#hostRequest";
import { HostAnswerCutShortError, HostTimeoutError, HostUnreachableError, InvalidHostUrlError, parseHostError } from "../errors/host.ts";
import { HostAnswerTooLargeError } from "../errors/session.ts";
import { contentCoding, type DecodedCoding } from "./contentEncoding.ts";
import { isHttpUrl } from "./hostUrl.ts";
import { readPrefix } from "./readBody.ts";
import { followSignal } from "./signals.ts";

/** Transport options every action that talks to a host accepts. */
export type HostRequestOptions = {
  /** Aborts the request. An exchange aborted after it was sent is recovered from the host before the next request (`syncSession`). */
  signal?: AbortSignal | undefined;
  /**
   * A `fetch` implementation, which then carries every request. Default: in Node, node:http and
   * node:https with keep-alive (far less CPU than `fetch`); elsewhere `globalThis.fetch`.
   */
  fetch?: typeof globalThis.fetch | undefined;
  /**
   * Most ms the host may keep the SDK waiting: for its answer's headers, then for the answer's
   * progress while the SDK waits to read it: the whole of a JSON answer, or, in a streamed answer,
   * each next event that carries answer text (comments, blank lines, events without text and
   * partial events are not progress). Time the SDK's reader spends elsewhere does not count.
   * Default {@link defaultIdleTimeoutMs}. A host that takes longer is unreachable
   * ({@link HostUnreachableError} with code `ETIMEDOUT`).
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
  /**
   * The host made progress (a streamed answer's event with text): its clock starts again. Bytes
   * alone are not progress, so a body that is never told of any must arrive whole within the
   * timeout (counted only while a read waits for the host).
   */
  progress(): void;
  /** Stops reading and frees the connection (the host stops generating). */
  cancel(reason?: unknown): Promise<void>;
  /**
   * Whether the whole answer is here: its end read, or received by the transport and left to
   * read, so reading it to the end waits for nothing from the host (and gives the connection
   * back to the pool). False where the transport cannot tell (`fetch`).
   */
  arrived(): boolean;
  /**
   * Where the transport decoded a compressed answer leniently (`fetch`: a gzip, deflate or br
   * stream cut short reads as a shorter answer, without error): the error to throw once the answer
   * read turns out cut short (it is not the JSON it must be), the one node:http's decoder throws itself.
   */
  cutShort?: (() => HostUnreachableError) | undefined;
};

/** One request to a host: the SDK sends only GETs and POSTs of a signed JSON body. */
export type HostRequest = { method?: "GET" | "POST"; headers: Record<string, string>; body?: Uint8Array<ArrayBuffer> };

/** An answer's body as a transport hands it over: reads on no clock, errors as the transport raised them. */
export type HostTransportBody = {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /** Stops reading and drops the connection; a read in flight ends as `done`. */
  cancel(reason?: unknown): Promise<void>;
  /** Whether the transport received the end of the answer (see {@link HostBody.arrived}); absent where it cannot tell. */
  arrived?(): boolean;
};

/**
 * Sends `request` and resolves with the answer's status once its headers arrived. Aborting
 * `signal` fails the request, or each read of the body from then on. Redirects are not followed.
 */
export type HostTransport = (
  url: string,
  request: HostRequest,
  signal: AbortSignal,
) => Promise<{
  status: number;
  body: HostTransportBody | undefined;
  /** The `Retry-After` header, if any. */
  retryAfter?: string | undefined;
  /** The coding the transport decoded without telling a stream cut short from a whole one (`fetch`'s). */
  lenientCoding?: DecodedCoding | undefined;
}>;

/**
 * `fetch` as a {@link HostTransport}. A redirect is handed back as it is (`redirect: "manual"`),
 * never followed: the signed request and its sequence number are for the host the session named.
 * `fetch` decodes a compressed answer itself, but hands on the bytes of a coding it does not
 * know: such a body fails its first read, as node:http's does (a browser hides the header from
 * a page unless the host exposes it, and decodes what it reads).
 */
function fetchTransport(fetch: typeof globalThis.fetch): HostTransport {
  return async (url, request, signal) => {
    const response = await fetch(url, { ...request, redirect: "manual", signal });
    const coding = contentCoding(response.headers.get("content-encoding"));
    const retryAfter = response.headers.get("retry-after") ?? undefined;
    if (!(coding instanceof Error)) return { status: response.status, body: response.body?.getReader(), retryAfter, lenientCoding: coding };
    await response.body?.cancel();
    return { status: response.status, body: { read: () => Promise.reject(coding), cancel: () => Promise.resolve() }, retryAfter };
  };
}

/**
 * Sends one request to a host and returns its answer's body, through the caller's `fetch` if
 * it passed one, else the platform's transport (node:http in Node, `fetch` elsewhere: the
 * `#hostRequest` import). The host gets {@link HostRequestOptions.timeoutMs} for its headers, then
 * as much waiting time (while a read waits for it) between two moments of progress
 * ({@link HostBody.progress}; bytes alone are none, or a host could drip them forever); a refusal is read (at most {@link maxErrorBytes}) into the typed error for its code; a
 * failure to connect, a broken connection or a silent host is a {@link HostUnreachableError} that
 * keeps its cause; a URL that is not http(s), an {@link InvalidHostUrlError}. The caller's own abort is thrown as its reason, by the request and by the body.
 */
export async function fetchHost(url: string, request: HostRequest, options: HostRequestOptions): Promise<HostBody> {
  const send = options.fetch ? fetchTransport(options.fetch) : (requestHost ?? fetchTransport(globalThis.fetch));
  const timeoutMs = options.timeoutMs ?? defaultIdleTimeoutMs;
  const controller = new AbortController();
  const unfollow = followSignal(options.signal, controller);
  // The host's clock: the waiting time it used since its last progress, counted while a read
  // waits for it (`waitingSince`). The timer is not moved at each progress (a streamed answer
  // makes some at every token): when it fires it checks the clock, and is set for what is left.
  let timer: ReturnType<typeof setTimeout> | undefined;
  let used = 0;
  let waitingSince: number | undefined;
  const check = () => {
    const spent = used + (performance.now() - waitingSince!);
    if (spent >= timeoutMs) controller.abort(new HostTimeoutError({ timeoutMs }));
    else timer = setTimeout(check, timeoutMs - spent);
  };
  const arm = () => {
    clearTimeout(timer);
    waitingSince = performance.now();
    timer = setTimeout(check, timeoutMs - used);
  };
  const disarm = () => {
    clearTimeout(timer);
    if (waitingSince !== undefined) used += performance.now() - waitingSince;
    waitingSince = undefined;
  };
  const progress = () => {
    used = 0;
    if (waitingSince !== undefined) waitingSince = performance.now();
  };
  const failure = (cause: unknown): unknown => {
    disarm();
    unfollow();
    if (options.signal?.aborted) return options.signal.reason;
    // The transport refused an answer larger than any honest one (node:http's compressed bytes).
    if (cause instanceof HostAnswerTooLargeError) return cause;
    // A URL no transport can send to (a session restored with a mistyped one): told only once a request fails, off the hot path.
    if (!isHttpUrl(url)) return new InvalidHostUrlError({ url });
    return new HostUnreachableError({ url, cause: controller.signal.aborted ? controller.signal.reason : cause });
  };

  arm();
  let response: Awaited<ReturnType<HostTransport>>;
  try {
    response = await send(url, request, controller.signal);
  } catch (cause) {
    throw failure(cause);
  }
  disarm();
  progress();
  const { body: reader, lenientCoding } = response;
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
  // The first read starts at once, as a stream with a high-water mark of one chunk would: neither
  // transport takes more of a response off its connection until its body is read, so an answer the SDK
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
    // Cancelling a body drops its connection (a fetch body aborts its fetch: Fetch standard, undici
    // too), so the request's signal is not fired as well: that dispatch and its DOMException were a
    // tenth of the SDK's CPU per streamed answer, as every stream is cancelled once its `[DONE]` arrived.
    async cancel(reason) {
      ahead = undefined;
      if (finished || failed) return;
      finished = true;
      disarm();
      unfollow();
      await reader!.cancel(reason).catch(() => undefined);
    },
    arrived: () => finished || (!failed && reader!.arrived?.() === true),
    progress,
    cutShort: lenientCoding && (() => new HostUnreachableError({ url, cause: new HostAnswerCutShortError({ contentEncoding: lenientCoding }) })),
  };
  if (response.status < 200 || response.status > 299)
    throw parseHostError({ status: response.status, url, body: await readPrefix(body, maxErrorBytes), retryAfter: response.retryAfter });
  return body;
}
