import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** How the fake upstream paces an answer, in milliseconds. Defaults are a GPU server running vLLM under load. */
export type FakeUpstreamPacing = {
  /** Time to the first token (prefill). Default 40. */
  firstTokenMs: number;
  /** Each later token follows the one before after a gap drawn uniformly from [min, max]. Default [10, 20]. */
  gapMs: readonly [number, number];
  /** Answer length when the request sets no `max_tokens`. Default 64. */
  defaultMaxTokens: number;
};

export type FakeUpstreamParameters = Partial<FakeUpstreamPacing> & {
  /** Seeds the jitter and the words; the n-th request of two runs with one seed is paced and worded alike. Default 1. */
  seed?: number;
};

export type FakeUpstream = { baseUrl: string; model: string; requests: () => number; close: () => Promise<void> };

const model = "fake-gpu-model";
const words = ["the", "of", "light", "and", "water", "earth", "said", "day", "night", "was", "good", "in", "beginning", "form", "void", "deep"];

/**
 * A local OpenAI-compatible chat server that streams like a GPU server: `firstTokenMs` to the first
 * token, then one token per jittered gap, then (with `stream_options.include_usage`) a usage chunk
 * with empty `choices`, then `data: [DONE]`. Each token is one word, so the client's count check
 * (no more tokens than UTF-8 bytes) holds. Only streamed requests are served: the host never asks
 * for another kind; `GET /v1/models` lists the model, as the host's readiness probe asks. Used by `bench/relay.bench.ts`; `fakeUpstream.test.ts` checks it with the
 * official `openai` client.
 */
export async function startFakeUpstream(parameters: FakeUpstreamParameters = {}): Promise<FakeUpstream> {
  const pacing: FakeUpstreamPacing = {
    firstTokenMs: parameters.firstTokenMs ?? 40,
    gapMs: parameters.gapMs ?? [10, 20],
    defaultMaxTokens: parameters.defaultMaxTokens ?? 64,
  };
  const seed = parameters.seed ?? 1;
  let served = 0;
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    served += 1;
    void answer(request, response, pacing, mulberry32(seed * 1_000_003 + served)).catch(() => response.destroy());
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    model,
    requests: () => served,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type ChatBody = { messages?: { content?: unknown }[]; max_tokens?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } };

async function answer(request: IncomingMessage, response: ServerResponse, pacing: FakeUpstreamPacing, random: () => number): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  if (request.method === "GET" && request.url === "/v1/models")
    return void sendJson(response, 200, { object: "list", data: [{ id: model, object: "model", created: 0, owned_by: "fake-upstream" }] });
  if (request.method !== "POST" || request.url !== "/v1/chat/completions")
    return void sendError(response, 404, "not_found", "Only POST /v1/chat/completions and GET /v1/models are served.");
  let body: ChatBody;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ChatBody;
  } catch {
    return void sendError(response, 400, "invalid_request_error", "The body is not JSON.");
  }
  if (body.stream !== true) return void sendError(response, 400, "invalid_request_error", "Only streamed requests (`stream: true`) are served.");
  const maxTokens =
    typeof body.max_tokens === "number" && Number.isSafeInteger(body.max_tokens) && body.max_tokens > 0 ? body.max_tokens : pacing.defaultMaxTokens;
  const promptTokens = (body.messages ?? []).reduce(
    (sum, message) => sum + (typeof message.content === "string" ? message.content.split(/\s+/).filter(Boolean).length : 0),
    0,
  );

  let closed = false;
  response.once("close", () => (closed = true));
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const id = `chatcmpl-fake-${Math.floor(random() * 2 ** 32).toString(16)}`;
  const created = Math.floor(Date.now() / 1000);
  const send = (choices: unknown[], usage?: unknown) =>
    response.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices, ...(usage ? { usage } : {}) })}\n\n`);

  await sleep(pacing.firstTokenMs);
  for (let token = 0; token < maxTokens && !closed; token++) {
    if (token > 0) await sleep(pacing.gapMs[0] + random() * (pacing.gapMs[1] - pacing.gapMs[0]));
    const word = words[Math.floor(random() * words.length)]!;
    send([{ index: 0, delta: token === 0 ? { role: "assistant", content: word } : { content: ` ${word}` }, finish_reason: null }]);
  }
  if (closed) return;
  send([{ index: 0, delta: {}, finish_reason: "length" }]);
  if (body.stream_options?.include_usage === true)
    send([], { prompt_tokens: promptTokens, completion_tokens: maxTokens, total_tokens: promptTokens + maxTokens });
  response.end("data: [DONE]\n\n");
}

function sendError(response: ServerResponse, status: number, type: string, message: string): void {
  sendJson(response, status, { error: { message, type, code: null } });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A small seeded PRNG (mulberry32): the same seed gives the same jitter and words. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
