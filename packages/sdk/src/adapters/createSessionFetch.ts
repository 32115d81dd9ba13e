import { HostResponseError, HostUnreachableError, SessionHostError } from "../errors/host.ts";
import type { SessionDisputedError, SessionProtocolError, TokenCountMismatchError, TranscriptMismatchError } from "../errors/session.ts";
import { jsonExchange, streamExchange, type ChatRequestBody, type ExchangeParameters } from "../session/exchange.ts";
import type { CountCheckOptions, Session } from "../session/types.ts";

export type CreateSessionFetchParameters = {
  /** The `fetch` that reaches the host; default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch | undefined;
  /** Overrides the session's count-check bounds. */
  countCheck?: CountCheckOptions | undefined;
};

export type CreateSessionFetchReturnType = typeof globalThis.fetch;

/** What the returned `fetch` throws itself (host refusals become HTTP answers instead). */
export type CreateSessionFetchErrorType =
  | HostUnreachableError
  | TokenCountMismatchError
  | TranscriptMismatchError
  | SessionDisputedError
  | SessionProtocolError;

/**
 * A `fetch` for the official `openai` client (or any OpenAI-style client) that runs chat
 * completions through a session: each request is signed by the session key, the host's counts are
 * checked and a receipt signed after every answer, streamed or not. Other requests
 * (`GET /v1/models`, …) pass through unchanged.
 *
 * Errors: a host refusal reaches the client as the host's HTTP status and body (so `openai` throws
 * its own `APIError` with `code` set to the protocol's code, e.g. `session_bad_signature`); the
 * SDK's own refusals (`TokenCountMismatchError`, `TranscriptMismatchError`, `SessionDisputedError`)
 * are thrown unchanged from the call or the stream.
 *
 * @example
 * import OpenAI from "openai";
 * const openai = new OpenAI({ baseURL: `${session.hostUrl}/v1`, apiKey: "unused", fetch: createSessionFetch(session) });
 * const completion = await openai.chat.completions.create({ model: session.model, messages: [{ role: "user", content: "Hi" }] });
 */
export function createSessionFetch(session: Session, parameters: CreateSessionFetchParameters = {}): CreateSessionFetchReturnType {
  const baseFetch = parameters.fetch ?? globalThis.fetch;
  return async (input, init) => {
    const request = new Request(input, init);
    if (request.method !== "POST" || !new URL(request.url).pathname.endsWith("/chat/completions")) return baseFetch(input, init);

    const body = JSON.parse(await request.text()) as ChatRequestBody;
    const headers = Object.fromEntries(request.headers.entries());
    for (const name of ["content-length", "content-type", "accept"]) delete headers[name];
    const exchange: ExchangeParameters = {
      request: body,
      url: request.url,
      headers,
      signal: init?.signal ?? undefined,
      fetch: baseFetch,
      countCheck: parameters.countCheck,
    };
    return body.stream === true ? streamResponse(session, exchange) : jsonResponse(session, exchange);
  };
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
  // Clients abort their signal when the reader leaves a stream early (`openai` does on `break`).
  // Once the host answers, the rest is read and receipted anyway, so the caller's signal only
  // governs the request itself.
  const upstream = new AbortController();
  const abortUpstream = () => upstream.abort(exchange.signal?.reason);
  if (exchange.signal?.aborted) abortUpstream();
  exchange.signal?.addEventListener("abort", abortUpstream, { once: true });
  const chunks = streamExchange(session, { ...exchange, request, signal: upstream.signal });

  let first: IteratorResult<unknown>;
  try {
    first = await chunks.next();
  } catch (error) {
    return refusalResponse(error, exchange.signal);
  } finally {
    exchange.signal?.removeEventListener("abort", abortUpstream);
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
    // The caller stopped reading: the SDK reads the rest and signs the receipt all the same.
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
