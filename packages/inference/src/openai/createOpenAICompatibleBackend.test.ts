import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, sendEventStream, startFixtureServer } from "../../test/fixtureServer.ts";
import { InferenceError, MissingUsageError, UpstreamBadResponseError, UpstreamHttpError, UpstreamTimeoutError, UpstreamUnreachableError } from "../errors.ts";
import type { ChatRequest, StreamPart } from "../types.ts";
import { createOpenAICompatibleBackend } from "./createOpenAICompatibleBackend.ts";

const hello: ChatRequest = { messages: [{ role: "user", content: "Say hello" }], maxTokens: 32, temperature: 0.2, stop: ["\n\n"], seed: 7 };
const expectedText = "Hello! How can I help you today?";

let server: Awaited<ReturnType<typeof startFixtureServer>>;

beforeAll(async () => {
  const stream = (name: string, pieceSize?: number) => async (_: unknown, res: import("node:http").ServerResponse) =>
    sendEventStream(res, fixture(name), pieceSize);
  server = await startFixtureServer({
    openai: stream("openai.sse"),
    vllm: stream("vllm.sse", 1),
    "vllm-continuous": stream("vllm-continuous-usage.sse"),
    llamacpp: stream("llamacpp-server.sse", 7),
    ollama: stream("ollama.sse"),
    "ollama-old": stream("ollama-without-usage.sse"),
    "vllm-error": stream("vllm-error-mid-stream.sse"),
    "crlf-body": (_, res) => sendEventStream(res, fixture("openai.sse").replaceAll("\n", "\r\n"), 3),
    json: (_, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          id: "chatcmpl-1",
          object: "chat.completion",
          created: 1,
          model: "m",
          choices: [{ index: 0, message: { role: "assistant", content: expectedText }, finish_reason: "stop" }],
          usage: { prompt_tokens: 11, completion_tokens: 9, total_tokens: 20 },
        }),
      );
    },
    "busy-then-ok": (_, res, attempt) =>
      attempt === 1 ? void res.writeHead(503, { "retry-after": "0" }).end("overloaded") : sendEventStream(res, fixture("vllm.sse")),
    "rate-limited-then-ok": (_, res, attempt) =>
      attempt < 3 ? void res.writeHead(429).end('{"error":{"message":"Rate limit"}}') : sendEventStream(res, fixture("openai.sse")),
    "always-busy": (_, res) => void res.writeHead(503).end("overloaded"),
    "server-error": (_, res) => void res.writeHead(500, { "content-type": "application/json" }).end('{"error":{"message":"boom","type":"server_error"}}'),
    html: (_, res) => void res.writeHead(200, { "content-type": "text/html" }).end("<html>captive portal</html>"),
    garbage: (_, res) => sendEventStream(res, "data: {not json\n\n"),
    "no-choices": (_, res) => sendEventStream(res, 'data: {"hello":"world"}\n\ndata: [DONE]\n\n'),
    "bad-usage": (_, res) => sendEventStream(res, fixture("vllm.sse").replace('"completion_tokens":9', '"completion_tokens":-1')),
    "cut-off": async (_, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(fixture("vllm.sse").split("\n\n").slice(0, 3).join("\n\n") + "\n\n");
      await new Promise((resolve) => setTimeout(resolve, 20));
      res.socket?.destroy();
    },
    silent: () => undefined,
    "stalls-mid-stream": (_, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(fixture("vllm.sse").split("\n\n").slice(0, 3).join("\n\n") + "\n\n");
    },
    slow: async (_, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const event of fixture("vllm-continuous-usage.sse").split("\n\n")) {
        if (res.destroyed) return;
        res.write(event + "\n\n");
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      res.end();
    },
  });
});
afterAll(() => server.close());

const backend = (route: string, extra: Partial<Parameters<typeof createOpenAICompatibleBackend>[0]> = {}) =>
  createOpenAICompatibleBackend({ baseUrl: server.baseUrl(route), model: "test-model", retryDelayMs: 1, timeoutMs: 2000, ...extra });

async function collect(parts: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const out: StreamPart[] = [];
  for await (const part of parts) out.push(part);
  return out;
}

describe("createOpenAICompatibleBackend", () => {
  it.each([
    ["openai", { promptTokens: 11, completionTokens: 9 }],
    ["vllm", { promptTokens: 30, completionTokens: 9 }],
    ["llamacpp", { promptTokens: 21, completionTokens: 9 }],
    ["ollama", { promptTokens: 29, completionTokens: 9 }],
    ["crlf-body", { promptTokens: 11, completionTokens: 9 }],
    ["json", { promptTokens: 11, completionTokens: 9 }],
  ])("reads text and the server's exact usage from a %s response", async (route, usage) => {
    const result = await backend(route).generate(hello);
    expect(result).toEqual({ text: expectedText, finishReason: "stop", usage });
  });

  it("streams deltas in order, then one finish part", async () => {
    const parts = await collect(backend("llamacpp").stream(hello));
    expect(
      parts
        .filter((p) => p.type === "text-delta")
        .map((p) => (p as { text: string }).text)
        .join(""),
    ).toBe(expectedText);
    expect(parts.at(-1)).toEqual({ type: "finish", finishReason: "stop", usage: { promptTokens: 21, completionTokens: 9 } });
    expect(parts.filter((p) => p.type === "finish")).toHaveLength(1);
  });

  it("sends an OpenAI request that asks for usage in the stream", async () => {
    const before = server.requests.length;
    await backend("openai", { apiKey: "sk-test" }).generate(hello);
    const request = server.requests[before]!;
    expect(request.path).toBe("/openai/v1/chat/completions");
    expect(request.headers.authorization).toBe("Bearer sk-test");
    expect(request.body).toEqual({
      model: "test-model",
      messages: hello.messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 32,
      temperature: 0.2,
      stop: ["\n\n"],
      seed: 7,
    });
  });

  it("maps finish_reason length", async () => {
    const result = await backend("vllm-continuous", { continuousUsage: true }).generate(hello);
    expect(result).toEqual({ text: "Hello! How can I", finishReason: "length", usage: { promptTokens: 30, completionTokens: 5 } });
    expect((server.requests.at(-1)!.body as { stream_options: unknown }).stream_options).toEqual({ include_usage: true, continuous_usage_stats: true });
  });

  it("refuses to bill a response without usage", async () => {
    const error = await backend("ollama-old")
      .generate(hello)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingUsageError);
    expect(error).toMatchObject({ code: "upstream_missing_usage", text: expectedText, finishReason: "stop" });
    const parts = await collect(backend("ollama-old").stream(hello));
    expect(parts.at(-1)).toMatchObject({ type: "error", error: { code: "upstream_missing_usage" } });
    expect(parts.some((p) => p.type === "finish")).toBe(false);
  });

  it("retries 503 and 429 before any byte of a response, honouring Retry-After", async () => {
    expect((await backend("busy-then-ok").generate(hello)).usage).toEqual({ promptTokens: 30, completionTokens: 9 });
    expect(server.attempts("busy-then-ok")).toBe(2);
    expect((await backend("rate-limited-then-ok").generate(hello)).text).toBe(expectedText);
    expect(server.attempts("rate-limited-then-ok")).toBe(3);
  });

  it("gives up on 503 after maxRetries, and never retries other statuses", async () => {
    const busy = await backend("always-busy", { maxRetries: 1 })
      .generate(hello)
      .catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(UpstreamHttpError);
    expect(busy).toMatchObject({ status: 503, retryable: true });
    expect(server.attempts("always-busy")).toBe(2);
    const failed = await backend("server-error")
      .generate(hello)
      .catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: "upstream_http_error", status: 500, retryable: false });
    expect((failed as InferenceError).details).toContain("boom");
    expect(server.attempts("server-error")).toBe(1);
  });

  it("does not retry once the response has started, and says the stream was cut off", async () => {
    const error = await backend("cut-off")
      .generate(hello)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamBadResponseError);
    expect(server.attempts("cut-off")).toBe(1);
  });

  it.each([
    ["html", /not an event stream/],
    ["garbage", /not JSON/],
    ["no-choices", /without `choices`/],
    ["bad-usage", /malformed `usage`/],
    ["vllm-error", /The engine died unexpectedly/],
  ])("turns a garbled %s response into UpstreamBadResponseError", async (route, message) => {
    const error = await backend(route)
      .generate(hello)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamBadResponseError);
    expect((error as Error).message).toMatch(message);
  });

  it("reports a server that is down, after retrying the connection", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const down = createOpenAICompatibleBackend({ baseUrl: `http://127.0.0.1:${port}/v1`, model: "m", retryDelayMs: 1, maxRetries: 2 });
    const error = await down.generate(hello).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnreachableError);
    expect(error).toMatchObject({ code: "upstream_unreachable", retryable: true });
  });

  it("times out a server that does not answer, and one that stalls mid-stream", async () => {
    const silent = await backend("silent", { timeoutMs: 150 })
      .generate(hello)
      .catch((e: unknown) => e);
    expect(silent).toBeInstanceOf(UpstreamTimeoutError);
    expect(server.attempts("silent")).toBe(1);
    const parts = await collect(backend("stalls-mid-stream", { timeoutMs: 150 }).stream(hello));
    expect(parts[0]).toEqual({ type: "text-delta", text: "Hello" });
    expect(parts.at(-1)).toMatchObject({ type: "error", error: { code: "upstream_timeout" } });
  });

  it("on abort, finishes with the last exact usage when the server reports it per chunk", async () => {
    const controller = new AbortController();
    const parts: StreamPart[] = [];
    for await (const part of backend("slow", { continuousUsage: true }).stream(hello, { signal: controller.signal })) {
      parts.push(part);
      if (parts.length === 2) controller.abort();
    }
    expect(parts.at(-1)).toEqual({ type: "finish", finishReason: "abort", usage: { promptTokens: 30, completionTokens: 2 } });
  });

  it("on abort without per-chunk usage, refuses to guess a count", async () => {
    const controller = new AbortController();
    const parts: StreamPart[] = [];
    for await (const part of backend("stalls-mid-stream").stream(hello, { signal: controller.signal })) {
      parts.push(part);
      controller.abort();
    }
    expect(parts.at(-1)).toMatchObject({ type: "error", error: { code: "upstream_missing_usage", finishReason: "abort", text: "Hello" } });
  });

  it("validates requests before sending them", async () => {
    const before = server.requests.length;
    await expect(backend("openai").generate({ messages: [], maxTokens: 1 })).rejects.toMatchObject({ code: "invalid_request" });
    await expect(backend("openai").generate({ ...hello, maxTokens: 0 })).rejects.toMatchObject({ code: "invalid_request" });
    expect(server.requests.length).toBe(before);
  });

  it("serves many concurrent streams without a MaxListenersExceededWarning", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const shared = backend("openai");
      await Promise.all(Array.from({ length: 20 }, () => collect(shared.stream(hello))));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((warning) => warning.name === "MaxListenersExceededWarning")).toEqual([]);
  });

  it("sends the chat request through a given fetch instead of its own node:http client", async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls += 1;
      return fetch(input, init);
    };
    expect(await backend("openai", { fetch: counting }).generate(hello)).toEqual({
      text: expectedText,
      finishReason: "stop",
      usage: { promptTokens: 11, completionTokens: 9 },
    });
    expect(calls).toBe(1);
    const parts = await collect(backend("stalls-mid-stream", { fetch: counting, timeoutMs: 150 }).stream(hello));
    expect(parts.at(-1)).toMatchObject({ type: "error", error: { code: "upstream_timeout" } });
  });

  it("keeps its upstream connection for the next request when [DONE] and the message's end come in one read", async () => {
    // A streaming server's last write is typically `end("data: [DONE]\n\n")`: the last event and
    // the chunked terminator arrive together, in a read of their own after the answer's earlier ones.
    const [first, ...rest] = fixture("openai.sse").split(/(?<=\n\n)/);
    const last = rest.pop()!;
    expect(last).toBe("data: [DONE]\n\n");
    let connections = 0;
    const upstream = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(first! + rest.join(""));
        setTimeout(() => res.end(last), 10);
      });
    });
    upstream.on("connection", () => (connections += 1));
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const reusing = createOpenAICompatibleBackend({ baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, model: "test-model" });
    try {
      for (let request = 0; request < 3; request++)
        expect(await reusing.generate(hello)).toEqual({ text: expectedText, finishReason: "stop", usage: { promptTokens: 11, completionTokens: 9 } });
      expect(connections).toBe(1);
    } finally {
      await reusing.close();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });

  it("asks the upstream for an uncompressed answer", async () => {
    await backend("openai").generate(hello);
    expect(server.requests.at(-1)!.headers["accept-encoding"]).toBe("identity");
  });

  it.each([
    ["with", { signal: new AbortController().signal }],
    ["without", {}],
  ])("ends a stream in flight when closed, %s a caller's signal, as an abort", async (_, options) => {
    const closing = backend("slow", { continuousUsage: true });
    const parts: StreamPart[] = [];
    for await (const part of closing.stream(hello, options)) {
      parts.push(part);
      if (parts.length === 2) await closing.close();
    }
    expect(parts.at(-1)).toEqual({ type: "finish", finishReason: "abort", usage: { promptTokens: 30, completionTokens: 2 } });
  });

  it("stops waiting to retry as soon as the caller aborts, with nothing served to bill", async () => {
    const controller = new AbortController();
    // A 503 whose body, once read, aborts the caller on the next timer: by then the backend waits a minute to retry.
    const busy = async () =>
      ({
        ok: false,
        status: 503,
        headers: new Headers(),
        body: null,
        text: async () => (setTimeout(() => controller.abort(), 0), "overloaded"),
      }) as unknown as Response;
    const waiting = backend("openai", { retryDelayMs: 60_000, fetch: busy }).stream(hello, { signal: controller.signal });
    expect(await collect(waiting)).toEqual([{ type: "finish", finishReason: "abort", usage: { promptTokens: 0, completionTokens: 0 } }]);
  });

  it("fails calls after close", async () => {
    const closed = backend("openai");
    await closed.close();
    await expect(closed.generate(hello)).rejects.toMatchObject({ code: "backend_closed" });
  });
});
