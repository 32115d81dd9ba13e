import { setMaxListeners } from "node:events";
import { Readable } from "node:stream";
import { collectStream } from "../collectStream.ts";
import {
  BackendClosedError,
  InferenceError,
  InvalidRequestError,
  MissingUsageError,
  UpstreamBadResponseError,
  UpstreamHttpError,
  UpstreamTimeoutError,
  UpstreamUnreachableError,
} from "../errors.ts";
import { pullStream, type DeltaSink, type StreamEnd } from "../pushStream.ts";
import type { CallOptions, ChatBackend, ChatRequest, FinishReason, Usage } from "../types.ts";
import { validateRequest } from "../validateRequest.ts";
import { parseChatCompletionChunk } from "./chatCompletionChunk.ts";
import { createChunkReader, parseJson } from "./chunkReader.ts";
import { createPromptTokenCounter, defaultTokenizeUrl } from "./promptTokenCounter.ts";
import { createNodeHttpPost, type UpstreamPost, type UpstreamResponse } from "./nodeHttpPost.ts";
import { Deadline } from "./deadline.ts";
import { pumpEvents, type PumpEventsParameters } from "./eventPump.ts";
import { createUpstreamEventParser, serverSentEventBatches } from "./serverSentEvents.ts";

export type CreateOpenAICompatibleBackendParameters = {
  /** Base URL of the API, including its version path, e.g. `http://127.0.0.1:8000/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Model name sent to the server. */
  model: string;
  /** Name served in `/v1/models`. Default: `model`. */
  modelId?: string;
  /**
   * Longest wait, in milliseconds, for the response to start and between two chunks of it.
   * Default 60000.
   */
  timeoutMs?: number;
  /** Retries of a request that got no response bytes (connection errors, HTTP 429 and 503). Default 2. */
  maxRetries?: number;
  /** First retry delay in milliseconds, doubled each retry; `Retry-After` wins when longer. Default 500. */
  retryDelayMs?: number;
  /**
   * Ask for usage in every chunk (vLLM's `stream_options.continuous_usage_stats`), so that an
   * aborted stream still has an exact count. Only for servers that accept it. Default false.
   */
  continuousUsage?: boolean;
  /**
   * Where to count an aborted stream's prompt when the server reported no usage before the abort:
   * a vLLM-style `/tokenize` (`{ count }`). Default: `/tokenize` beside `baseUrl`'s `/v1`;
   * `false` never asks. A server that has none is asked once.
   */
  tokenizeUrl?: string | false;
  /**
   * A fetch implementation for every request. Default: the chat request over `node:http`/`node:https`
   * keep-alive connections (a relayed token costs ~40 % less CPU than through fetch's web streams),
   * `/tokenize` through the global fetch.
   */
  fetch?: typeof globalThis.fetch;
};

/**
 * A {@link ChatBackend} in front of an OpenAI-compatible server (vLLM, llama.cpp server, Ollama,
 * hosted APIs). It always streams with `stream_options.include_usage`, and bills only what the
 * server counts: a response without usage fails with {@link MissingUsageError} rather than
 * being estimated.
 *
 * Retries happen only while nothing of the response has arrived and only for failures that
 * cannot have started a generation (connection errors, 429, 503), so a retry never runs a
 * prompt twice. A timeout is not retried: the server may be working.
 *
 * @example
 * const backend = createOpenAICompatibleBackend({ baseUrl: "http://127.0.0.1:8000/v1", model: "meta-llama/Llama-3.1-8B-Instruct" });
 * const { text, usage } = await backend.generate({ messages: [{ role: "user", content: "Hi" }] });
 */
export function createOpenAICompatibleBackend(parameters: CreateOpenAICompatibleBackendParameters): ChatBackend {
  const endpoint = `${parameters.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const fetchImpl = parameters.fetch ?? globalThis.fetch;
  // The chat request goes over node:http unless a fetch was given (docs/design.md, "Performance, honestly").
  const transport = parameters.fetch ? undefined : createNodeHttpPost();
  const postOnce: UpstreamPost = transport?.post ?? ((url, init) => fetchImpl(url, { method: "POST", ...init }));
  const timeoutMs = parameters.timeoutMs ?? 60_000;
  const maxRetries = parameters.maxRetries ?? 2;
  const retryDelayMs = parameters.retryDelayMs ?? 500;
  if (!parameters.model) throw new InvalidRequestError("`model` is required.");
  const closing = new AbortController();
  // Every request in flight listens to it (its deadline follows the caller): not a leak past 10.
  setMaxListeners(Number.POSITIVE_INFINITY, closing.signal);
  const countPrompt =
    parameters.tokenizeUrl === false
      ? async () => undefined
      : createPromptTokenCounter({
          url: parameters.tokenizeUrl ?? defaultTokenizeUrl(parameters.baseUrl),
          model: parameters.model,
          apiKey: parameters.apiKey,
          fetch: fetchImpl,
          timeoutMs: Math.min(timeoutMs, 5_000),
        });

  function requestBody(request: ChatRequest): string {
    return JSON.stringify({
      model: parameters.model,
      messages: request.messages.map(({ role, content }) => ({ role, content })),
      stream: true,
      stream_options: parameters.continuousUsage ? { include_usage: true, continuous_usage_stats: true } : { include_usage: true },
      ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.topP === undefined ? {} : { top_p: request.topP }),
      ...(request.stop === undefined || request.stop.length === 0 ? {} : { stop: request.stop }),
      ...(request.seed === undefined ? {} : { seed: request.seed }),
    });
  }

  /** POSTs with retries; resolves with a 2xx response whose body has not been read. */
  async function post(body: string, callers: readonly AbortSignal[], deadline: Deadline): Promise<UpstreamResponse> {
    for (let attempt = 0; ; attempt++) {
      let response: UpstreamResponse;
      try {
        deadline.arm();
        deadline.requestInFlight = true;
        response = await postOnce(endpoint, {
          headers: {
            "content-type": "application/json",
            accept: "text/event-stream",
            ...(parameters.apiKey ? { authorization: `Bearer ${parameters.apiKey}` } : {}),
          },
          body,
          signal: deadline.signal,
        });
      } catch (cause) {
        if (deadline.timedOut) throw new UpstreamTimeoutError(endpoint, timeoutMs);
        if (deadline.callerAborted) throw cause;
        deadline.requestInFlight = false;
        if (attempt >= maxRetries) throw new UpstreamUnreachableError(endpoint, cause);
        await sleep(retryDelayMs * 2 ** attempt, callers);
        continue;
      }
      if (response.ok) return response;
      const text = await response.text().catch(() => "");
      const error = new UpstreamHttpError(endpoint, response.status, text);
      deadline.requestInFlight = false;
      if (!error.retryable || attempt >= maxRetries) throw error;
      const retryAfterMs = Number(response.headers.get("retry-after")) * 1000;
      await sleep(Math.max(retryDelayMs * 2 ** attempt, Number.isFinite(retryAfterMs) ? Math.min(retryAfterMs, 30_000) : 0), callers);
    }
  }

  /**
   * Runs one turn into `sink`, each delta handed over synchronously from the upstream socket's
   * 'data' event (docs/design.md, "Host against a GPU-paced upstream"). `stop` (the pull reader
   * left) ends it quietly, with no end part; any of `callers` aborts it. Throws what `pushParts`
   * turns into an error part.
   */
  async function pushTurn(request: ChatRequest, sink: DeltaSink, callers: readonly AbortSignal[], stop?: AbortSignal): Promise<StreamEnd | undefined> {
    validateRequest(request);
    if (closing.signal.aborted) throw new BackendClosedError();
    const deadline = new Deadline(timeoutMs, callers, stop);
    let text = "";
    let finishReason: FinishReason | undefined;
    let usage: Usage | undefined;
    try {
      const response = await post(requestBody(request), callers, deadline);
      const contentType = response.headers.get("content-type") ?? "";
      if (contentType.includes("application/json")) {
        // A server that ignored `stream: true` and answered one completion.
        deadline.arm();
        const chunk = parseChatCompletionChunk(await readJson(response));
        text = chunk.text;
        if (text && !sink.delta(text) && !(await sink.ready())) return undefined;
        finishReason = chunk.finishReason;
        usage = chunk.usage;
      } else if (contentType.includes("text/event-stream")) {
        if (!response.body) throw new UpstreamBadResponseError("The inference server sent an empty stream.");
        deadline.arm();
        const readChunk = createChunkReader();
        const take = (data: string): boolean | "done" => {
          if (deadline.callerAborted) throw deadline.callerReason;
          if (data.trim() === "[DONE]") return "done";
          const chunk = readChunk(data);
          finishReason = chunk.finishReason ?? finishReason;
          usage = chunk.usage ?? usage;
          if (!chunk.text) return true;
          text += chunk.text;
          return sink.delta(chunk.text);
        };
        const outcome = await pumpEvents({ ...upstreamEvents(response.body, deadline), take, ready: () => sink.ready() });
        if (outcome === "stopped") return undefined;
      } else {
        const body = await response.text().catch(() => "");
        throw new UpstreamBadResponseError(`The inference server answered ${contentType || "no content type"}, not an event stream.`, body);
      }
    } catch (cause) {
      if (stop?.aborted) return undefined;
      if (deadline.timedOut) throw new UpstreamTimeoutError(endpoint, timeoutMs);
      if (!deadline.callerAborted) throw cause;
      // Aborted by the caller: an exact count exists only if no request was being served, or
      // if the server sent one per chunk.
      if (!deadline.requestInFlight) usage = { promptTokens: 0, completionTokens: 0 };
      if (usage) return { type: "finish", finishReason: "abort", usage };
      // The prompt was evaluated all the same: count it as the server would, if it can say.
      throw new MissingUsageError(text, "abort", await countPrompt(request));
    } finally {
      deadline.clear();
    }
    if (finishReason === undefined) throw new UpstreamBadResponseError("The inference server's stream ended before the response finished.");
    if (!usage) throw new MissingUsageError(text, finishReason);
    return { type: "finish", finishReason, usage };
  }

  /** {@link pushTurn} with its failures as an `error` part: never rejects. */
  async function pushParts(request: ChatRequest, sink: DeltaSink, options: CallOptions, stop?: AbortSignal): Promise<StreamEnd | undefined> {
    const callers = options.signal ? [options.signal, closing.signal] : [closing.signal];
    try {
      return await pushTurn(request, sink, callers, stop);
    } catch (cause) {
      return {
        type: "error",
        error: cause instanceof InferenceError ? cause : new UpstreamBadResponseError("The inference server's response could not be read.", String(cause)),
      };
    }
  }

  const stream = (request: ChatRequest, options: CallOptions = {}) => pullStream((sink, stop) => pushParts(request, sink, options, stop));

  return {
    specificationVersion: "v1",
    provider: "openai-compatible",
    modelId: parameters.modelId ?? parameters.model,
    generate: (request, options) => collectStream(stream(request, options)),
    stream,
    pushStream: (request, sink, options = {}) => pushParts(request, sink, options),
    async close() {
      closing.abort();
      transport?.close();
    },
  };
}

/**
 * The events of an upstream body for {@link pumpEvents}: a `node:http` response is parsed chunk by
 * chunk as its 'data' events arrive (each chunk re-arms the deadline); any other body (a given
 * fetch's web stream) is read through {@link serverSentEventBatches}.
 */
function upstreamEvents(body: AsyncIterable<Uint8Array>, deadline: Deadline): Pick<PumpEventsParameters, "body" | "events" | "rest"> {
  if (body instanceof Readable) {
    const parser = createUpstreamEventParser();
    return {
      body,
      events: (chunk) => {
        deadline.arm();
        return parser.push(chunk as Uint8Array).map((event) => event.data);
      },
      rest: () => parser.end().map((event) => event.data),
    };
  }
  return { body: Readable.from(serverSentEventBatches(deadline.watch(body))), events: (batch) => batch as string[], rest: () => [] };
}

async function readJson(response: UpstreamResponse): Promise<unknown> {
  return parseJson(await response.text());
}

/** Waits `ms`; rejects with the reason of the first of `signals` to abort. */
function sleep(ms: number, signals: readonly AbortSignal[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = signals.find((signal) => signal.aborted);
    if (aborted) return reject(aborted.reason);
    const stopListening = () => {
      for (const signal of signals) signal.removeEventListener("abort", onAbort);
    };
    const timer = setTimeout(() => {
      stopListening();
      resolve();
    }, ms);
    const onAbort = (event: Event) => {
      clearTimeout(timer);
      stopListening();
      reject((event.target as AbortSignal).reason);
    };
    for (const signal of signals) signal.addEventListener("abort", onAbort, { once: true });
  });
}
