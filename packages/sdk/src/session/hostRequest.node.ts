import type { ClientRequest, IncomingMessage } from "node:http";
import { urlToHttpOptions } from "node:url";
import { HostAnswerTooLargeError } from "../errors/session.ts";
import { contentCoding } from "./contentEncoding.ts";
import { decodeBody } from "./decodeBody.node.ts";
import { noteHostIdleTimeout, transports } from "./hostAgents.node.ts";
import type { HostTransport, HostTransportBody } from "./hostFetch.ts";
import { maxAnswerBytes } from "./readBody.ts";

/** Distinct URLs whose request options are kept: a session's host has a handful of endpoints; past this the cache starts afresh. */
const targetCacheLimit = 64;
const targets = new Map<string, ReturnType<typeof urlToHttpOptions>>();

/**
 * The request options of a URL (protocol, host, port, path, credentials), as node:http makes them
 * from a `URL`, made once per URL rather than parsed and read back for every request (which showed
 * in the bench client's CPU profiles: `urlToHttpOptions`, 0.3–1.4 % of its busy time).
 */
function requestTarget(url: string): ReturnType<typeof urlToHttpOptions> {
  let target = targets.get(url);
  if (!target) {
    if (targets.size >= targetCacheLimit) targets.clear();
    targets.set(url, (target = urlToHttpOptions(new URL(url))));
  }
  return target;
}

/**
 * Sends a request to a host with node:http (or node:https, trusting Node's CA store, so
 * `NODE_EXTRA_CA_CERTS` too): what `fetch` does for the SDK, for a fraction of its CPU (no Request
 * or Response objects, no WHATWG streams). Redirects are not followed (as `fetch` is told: see
 * `fetchHost`) and no `accept-encoding` is sent, so a host answers uncompressed; a proxy that
 * compresses anyway is decoded (`content-encoding`: gzip, deflate, br), as `fetch` decodes it.
 * Aborting `signal` destroys the connection; the request, then each read, fail with its reason.
 */
export const requestHost: HostTransport = (url, request, signal) =>
  new Promise((resolve, reject) => {
    const target = requestTarget(url);
    const transport = transports[target.protocol as keyof typeof transports];
    if (!transport) throw new TypeError(`The host URL ${url} is neither http: nor https:.`);
    signal.throwIfAborted();
    const headers = request.body ? { ...request.headers, "content-length": String(request.body.byteLength) } : request.headers;
    const outgoing = transport.request({ ...target, method: request.method ?? "GET", headers, agent: transport.agent });
    const onAbort = () => outgoing.destroy(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    const failBeforeAnswer = (error: Error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    };
    outgoing.once("error", failBeforeAnswer);
    outgoing.once("response", (response) => {
      outgoing.off("error", failBeforeAnswer);
      signal.removeEventListener("abort", onAbort);
      noteHostIdleTimeout(response);
      resolve({ status: response.statusCode ?? 0, body: readResponse(outgoing, response, signal), retryAfter: response.headers["retry-after"] });
    });
    outgoing.end(request.body);
  });

/**
 * The answer's body, read in paused mode: the socket is read no further than one buffer ahead of
 * the SDK (a host that writes without end fills its own buffers), each read takes all that has
 * arrived, and a connection that breaks, a body the parser refuses or an abort fails every read
 * from then on. A compressed answer (a proxy's choice: see `decodeBody`) is read decoded; one in
 * a coding the SDK does not decode fails its first read, its status kept, and drops the connection.
 */
function readResponse(outgoing: ClientRequest, response: IncomingMessage, signal: AbortSignal): HostTransportBody {
  // A body with nothing in it is empty whatever coding a proxy labels it with (zlib refuses empty input).
  const bodyless = response.statusCode === 204 || response.statusCode === 304 || response.headers["content-length"] === "0";
  const coding = bodyless ? undefined : contentCoding(response.headers["content-encoding"]);
  const source = coding instanceof Error || coding === undefined ? response : decodeBody(response, coding);
  let failure: Error | undefined;
  let cancelled = false;
  let wake: (() => void) | undefined;
  // With no read waiting, the end of an answer that has nothing left to take is taken at once: a
  // response is done, and its connection back in the pool, only once its end was read (the SDK
  // reads no further than the first bytes of an answer it ignores, as a receipt's `{ stored: true }`).
  // A decoder takes its response's end itself.
  const settle = () => {
    if (wake) wake();
    else if (source === response && response.complete && response.readableLength === 0) response.read();
  };
  const fail = (error: Error) => {
    failure ??= error;
    // A decoder is not ended by `pipe` when its response breaks: dropped here, with its window.
    if (source !== response) source.destroy();
    settle();
  };
  const destroy = (error?: Error) => {
    outgoing.destroy(error);
    if (source !== response) source.destroy();
  };
  source.on("readable", settle);
  source.on("end", settle);
  // The request reports what broke (a parser error such as invalid chunked encoding) before the
  // response is destroyed as "aborted"; the first error is the one kept.
  outgoing.on("error", fail);
  response.on("error", fail);
  if (source !== response) {
    // Corrupt compressed bytes: the host is stopped from writing on.
    source.on("error", (error: Error) => {
      fail(error);
      outgoing.destroy();
    });
    // The SDK's caps count decoded bytes; bytes that decode to nothing are held to the largest
    // answer as they arrive (the idle timeout counts decoded bytes, so it would not end them).
    let received = 0;
    response.on("data", (chunk: Buffer) => {
      received += chunk.byteLength;
      if (received <= maxAnswerBytes) return;
      fail(new HostAnswerTooLargeError({ limit: maxAnswerBytes }));
      destroy();
    });
  }
  if (coding instanceof Error) {
    fail(coding);
    outgoing.destroy();
  }
  // Failed at once, so that no read takes bytes that arrived before it.
  const onAbort = () => {
    fail(signal.reason as Error);
    destroy(signal.reason as Error);
  };
  signal.addEventListener("abort", onAbort, { once: true });
  const release = () => signal.removeEventListener("abort", onAbort);
  // The body's reader closes last: a decoder may still hold decoded bytes after its response closed.
  source.on("close", release);
  return {
    read: () =>
      new Promise((resolve, reject) => {
        const attempt = () => {
          wake = undefined;
          if (cancelled) return resolve({ done: true, value: undefined });
          // As a fetch body errors: what arrived before the failure (or the caller's abort) is not handed out.
          if (failure) return reject(failure);
          const chunk = source.read() as Buffer | null;
          if (chunk !== null) return resolve({ done: false, value: chunk });
          if (source.readableEnded) return resolve({ done: true, value: undefined });
          wake = attempt;
        };
        attempt();
      }),
    cancel: () => {
      cancelled = true;
      release();
      destroy();
      settle();
      return Promise.resolve();
    },
    // The parser saw the end of the message: the rest of the body is in the response's buffer (or
    // the decoder's, which decodes it without waiting on the host).
    arrived: () => response.complete && !failure && !cancelled,
  };
}
