import { HostResponseError, HostUnreachableError, SessionHostError } from "../errors/host.ts";
import {
  SessionFetchUrlError,
  type SessionDisputedError,
  type SessionProtocolError,
  type TokenCountMismatchError,
  type TranscriptMismatchError,
} from "../errors/session.ts";
import { jsonExchange, streamExchange, type ChatRequestBody, type ExchangeParameters } from "../session/exchange.ts";
import { getJson, hostEndpoint, type HostRequestOptions } from "../session/transport.ts";
import type { CountCheckOptions, Session } from "../session/types.ts";

export type CreateSessionFetchParameters = {
  /**
   * The `fetch` that reaches the host. Default: the SDK's transport (node:http in Node,
   * `globalThis.fetch` elsewhere). `GET /models` is handed to this `fetch` (or `globalThis.fetch`) without the app's credentials.
   */
  fetch?: typeof globalThis.fetch | undefined;
  /** Overrides the session's count-check bounds. */
  countCheck?: CountCheckOptions | undefined;
  /** Idle timeout of each request to the host, in ms (see `HostRequestOptions.timeoutMs`). */
  timeoutMs?: number | undefined;
  /**
   * Called with earlier answers that broke off (an abort, a timeout, a dropped connection) and
   * were recovered from the host before a request, once signed for: the `openai` client never
   * sees them, so this is how their text reaches the app.
   */
  onRecovered?: ExchangeParameters["onRecovered"];
};

/**
 * The app's credentials for other services, never sent to the host: the `openai` client adds
 * `Authorization: Bearer` with `OPENAI_API_KEY` from the environment, and its organization and
 * project; Azure's client sends `api-key`. A session request is authenticated by the session key's
 * signature alone, and the host's model list is public.
 */
const credentialHeaders = ["authorization", "proxy-authorization", "cookie", "api-key", "x-api-key", "openai-organization", "openai-project"];

/** The app's request headers that may reach the host: all but its credentials and, for a chat request, those the SDK sets itself. */
function forwardedHeaders(request: Request, setBySdk: readonly string[]): Record<string, string> {
  const headers = Object.fromEntries(request.headers.entries());
  for (const name of [...credentialHeaders, ...setBySdk]) delete headers[name];
  return headers;
}

export type CreateSessionFetchReturnType = typeof globalThis.fetch;

/** What the returned `fetch` throws itself (host refusals become HTTP answers instead). */
export type CreateSessionFetchErrorType =
  SessionFetchUrlError | HostUnreachableError | TokenCountMismatchError | TranscriptMismatchError | SessionDisputedError | SessionProtocolError;

/**
 * A `fetch` for the official `openai` client (or any OpenAI-style client) that runs chat
 * completions through a session: each request is signed by the session key, the host's counts are
 * checked and a receipt signed after every answer, streamed or not. `GET /models` and
 * `GET /models/:id` are answered from the host's model list; any other endpoint is refused with
 * an OpenAI-style 404 (`unsupported_endpoint`), since the session pays for chat completions only.
 *
 * Stopping pays only for what the host wrote: the client's abort (a `controller.abort()`, its
 * `timeout`, `break` out of a stream) cancels the request at the host, which stops generating;
 * the next request recovers what it wrote from the host, checks it and signs for it.
 *
 * Only requests under the session's host (`${session.hostUrl}/v1`, the client's `baseURL`) are
 * served: any other URL (the `openai` client without `baseURL` goes to api.openai.com) fails with
 * {@link SessionFetchUrlError} before anything is signed or sent, so the prompt never leaves for a
 * third party.
 *
 * Errors: a host refusal reaches the client as the host's HTTP status and body (so `openai` throws
 * its own `APIError` with `code` set to the protocol's code, e.g. `session_bad_signature`); the
 * SDK's own refusals (`SessionFetchUrlError`, `TokenCountMismatchError`, `TranscriptMismatchError`, `SessionDisputedError`)
 * are thrown unchanged from the call or the stream.
 *
 * @example
 * import OpenAI from "openai";
 * const openai = new OpenAI({ baseURL: `${session.hostUrl}/v1`, apiKey: "unused", fetch: createSessionFetch(session) });
 * // session.model: the host's name for the model, set by openSession from the host's list (not with checkHost: false)
 * const completion = await openai.chat.completions.create({ model: session.model!, messages: [{ role: "user", content: "Hi" }] });
 */
export function createSessionFetch(session: Session, parameters: CreateSessionFetchParameters = {}): CreateSessionFetchReturnType {
  const baseFetch = parameters.fetch ?? globalThis.fetch;
  return async (input, init) => {
    const request = new Request(input, init);
    const baseUrl = hostEndpoint(session, "/v1");
    if (!isUnder(request.url, baseUrl)) return failingBody(new SessionFetchUrlError({ url: request.url, baseUrl }));
    const path = new URL(request.url).pathname.replace(/\/+$/, "");
    const signal = init?.signal ?? undefined;
    if (request.method === "GET" && path.endsWith("/models")) return baseFetch(request.url, { headers: forwardedHeaders(request, []), signal });
    const modelId = request.method === "GET" ? /\/models\/([^/]+)$/.exec(path)?.[1] : undefined;
    if (modelId !== undefined) return modelResponse(session, decodeURIComponent(modelId), { fetch: parameters.fetch, signal, timeoutMs: parameters.timeoutMs });
    if (request.method !== "POST" || !path.endsWith("/chat/completions"))
      return openAiError(
        404,
        "unsupported_endpoint",
        `${request.method} ${path} is not served through a session: only POST /chat/completions, GET /models and GET /models/:id are.`,
      );

    let body: ChatRequestBody;
    try {
      body = JSON.parse(await request.text()) as ChatRequestBody;
    } catch {
      return openAiError(400, "invalid_request", "The request body is not JSON.");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) return openAiError(400, "invalid_request", "The request body must be a JSON object.");
    const headers = forwardedHeaders(request, ["content-length", "content-type", "accept"]);
    const exchange: ExchangeParameters = {
      request: body,
      url: request.url,
      headers,
      signal,
      fetch: parameters.fetch,
      timeoutMs: parameters.timeoutMs,
      countCheck: parameters.countCheck,
      onRecovered: parameters.onRecovered,
    };
    return body.stream === true ? streamResponse(session, exchange) : jsonResponse(session, exchange);
  };
}

/** Whether `url` is `base` or below it: same origin, and a path that continues `base`'s at a `/`. */
function isUnder(url: string, base: string): boolean {
  let target: URL, root: URL;
  try {
    [target, root] = [new URL(url), new URL(base)];
  } catch {
    return false;
  }
  const rootPath = root.pathname.replace(/\/+$/, "");
  return target.origin === root.origin && (target.pathname === rootPath || target.pathname.startsWith(`${rootPath}/`));
}

/** An error answer in OpenAI's shape, which the `openai` client turns into its `APIError` subclass for the status. */
function openAiError(status: number, code: string, message: string): Response {
  const body = { error: { message, type: "invalid_request_error", param: null, code } };
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "x-should-retry": "false" } });
}

/** `GET /models/:id`: the model's entry in the host's `GET /v1/models`, or OpenAI's 404 `model_not_found`. */
async function modelResponse(session: Session, id: string, options: HostRequestOptions): Promise<Response> {
  const listing = (await getJson(hostEndpoint(session, "/v1/models"), options)) as { data?: { id?: unknown }[] } | null;
  const model = (Array.isArray(listing?.data) ? listing.data : []).find((entry) => entry?.id === id);
  if (!model) return openAiError(404, "model_not_found", `The model '${id}' does not exist: the host serves ${session.model ?? "another model"}.`);
  return new Response(JSON.stringify(model), { status: 200, headers: { "content-type": "application/json" } });
}

async function jsonResponse(session: Session, exchange: ExchangeParameters): Promise<Response> {
  try {
    const { response } = await jsonExchange(session, exchange);
    return new Response(JSON.stringify(response), { status: 200, headers: { "content-type": "application/json" } });
  } catch (error) {
    return refusalResponse(error, exchange.signal);
  }
}

async function streamResponse(session: Session, exchange: ExchangeParameters): Promise<Response> {
  const streamOptions = exchange.request.stream_options as { include_usage?: boolean } | undefined;
  const callerWantsUsage = streamOptions?.include_usage === true;
  // The host puts its `session` usage next to `usage`, so the SDK always asks for usage.
  const request = { ...exchange.request, stream_options: { ...streamOptions, include_usage: true } };
  // The caller's signal governs the whole exchange: `openai` aborts it on `break` and on its
  // `timeout`, which cancels the request at the host (the next request recovers what it wrote).
  // A cancelled exchange whose reader holds the stream without reading lets go of the session at
  // once (`closeSession` must not wait for that reader), and the reader later gets the error.
  let cancelled: { reason: unknown } | undefined;
  const chunks = streamExchange(session, {
    ...exchange,
    request,
    onCancel: (reason) => {
      cancelled = { reason };
      void chunks.return(undefined as never).catch(() => undefined);
    },
  });
  let first: IteratorResult<unknown>;
  try {
    first = await chunks.next();
  } catch (error) {
    return refusalResponse(error, exchange.signal);
  }

  const encoder = new TextEncoder();
  const encode = (chunk: unknown) => encoder.encode(`data: ${JSON.stringify(chunk)}\n\n`);
  let pending: IteratorResult<unknown> | undefined = first;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        while (true) {
          const next = pending ?? (await chunks.next());
          pending = undefined;
          if (next.done) {
            if (cancelled) throw cancelled.reason;
            controller.enqueue(encoder.encode("data: [DONE]\n\n"));
            controller.close();
            return;
          }
          const chunk = next.value as { choices?: unknown[]; usage?: unknown };
          const usageOnly = chunk.usage !== undefined && chunk.usage !== null && (chunk.choices?.length ?? 0) === 0;
          if (usageOnly && !callerWantsUsage) continue;
          controller.enqueue(encode(chunk));
          return;
        }
      } catch (error) {
        controller.error(error);
      }
    },
    // The reader stopped: cancel the request, so the host stops generating.
    async cancel() {
      await chunks.return(undefined as never);
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
}

/**
 * How a failed exchange reaches the client: an unreachable host or an abort is thrown (the client
 * treats it as a connection error), a host refusal becomes the host's HTTP answer, and the SDK's
 * own refusals fail the body.
 */
function refusalResponse(error: unknown, signal: AbortSignal | undefined): Response {
  if (error instanceof HostUnreachableError || signal?.aborted) throw error;
  return hostRefusal(error) ?? failingBody(error);
}

/** A host refusal, re-issued as the HTTP answer the host gave, for the client's own error handling. */
function hostRefusal(error: unknown): Response | undefined {
  if (!(error instanceof SessionHostError || error instanceof HostResponseError)) return undefined;
  const body = { error: { message: error.details, type: "session_error", code: error.code ?? null } };
  return new Response(JSON.stringify(body), {
    status: error.status,
    headers: { "content-type": "application/json", ...(error instanceof SessionHostError ? { "x-should-retry": "false" } : {}) },
  });
}

/**
 * An SDK-side refusal after the host answered: a response whose body fails with the typed error,
 * so the client throws it as it reads the body instead of wrapping it as a connection error and
 * retrying a request the host already served.
 */
function failingBody(error: unknown): Response {
  const body = new ReadableStream<Uint8Array>({ start: (controller) => controller.error(error) });
  return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
}
