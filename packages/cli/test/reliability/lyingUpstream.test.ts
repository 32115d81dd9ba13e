import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { chat, streamChat } from "@session-jobs/sdk";
import { hostView, openUserSession } from "./harness.ts";
import { closeExactly, useUpstreamHostStack } from "./stack.ts";

// The host's own upstream (an OpenAI-compatible server) reports more tokens than it can have
// used: more completion tokens than max_tokens or than the text it sent could hold, or a prompt
// far above the host's estimate. Billed as reported, the host would charge more than it reserved
// against the deposit and more than the SDK's count check accepts: the client would refuse to sign
// and the session would be stuck. The host bills at most those bounds instead (and counts it in
// session_jobs_upstream_usage_clamped_total); the client checks, signs and the session settles.

const deltas = ["In", " the", " beginning"];
const deliveredBytes = Buffer.byteLength(deltas.join(""));
const prompt = "In the beginning";
/** The host's prompt estimate: UTF-8 bytes plus `limits.promptTokensPerMessage` (8 by default) per message. */
const promptEstimate = Buffer.byteLength(prompt) + 8;

type Lie = { prompt_tokens: number; completion_tokens: number };
let lie: Lie = { prompt_tokens: 0, completion_tokens: 0 };

/** An OpenAI-compatible server that sends three deltas and reports `lie` as its usage. */
function answerWithLies(request: IncomingMessage, response: ServerResponse): void {
  let raw = "";
  request.on("data", (chunk) => (raw += String(chunk)));
  request.on("end", () => {
    if (request.method === "GET") return void response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data: [{ id: "liar" }] }));
    const body = JSON.parse(raw) as { stream?: boolean };
    const usage = { ...lie, total_tokens: lie.prompt_tokens + lie.completion_tokens };
    if (!body.stream) {
      const message = { role: "assistant", content: deltas.join("") };
      return void response
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ id: "c", object: "chat.completion", choices: [{ index: 0, message, finish_reason: "stop" }], usage }));
    }
    response.writeHead(200, { "content-type": "text/event-stream" });
    const event = (data: unknown) => response.write(`data: ${JSON.stringify(data)}\n\n`);
    for (const content of deltas) event({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content }, finish_reason: null }] });
    event({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
    event({ id: "c", object: "chat.completion.chunk", choices: [], usage });
    response.end("data: [DONE]\n\n");
  });
}

const stack = useUpstreamHostStack(answerWithLies, "liar");

/** The host's count of exchanges billed at a bound instead of the backend's claim, for one field. */
async function clamped(field: "promptTokens" | "completionTokens"): Promise<number> {
  const metrics = await (await fetch(`${stack.host.url}/metrics`)).text();
  return Number(new RegExp(`^session_jobs_upstream_usage_clamped_total\\{field="${field}"\\} (\\d+)$`, "m").exec(metrics)?.[1] ?? 0);
}

describe.each([
  ["more completion tokens than max_tokens", { prompt_tokens: 5, completion_tokens: 1_000 }, 10, { promptTokens: 5, completionTokens: 10 }],
  // Within max_tokens, but no tokenizer makes more tokens than the bytes sent (plus an end marker).
  [
    "more completion tokens than the text sent can hold",
    { prompt_tokens: 5, completion_tokens: 40 },
    100,
    { promptTokens: 5, completionTokens: deliveredBytes + 1 },
  ],
  ["a prompt far above the host's estimate", { prompt_tokens: 100_000, completion_tokens: 3 }, 20, { promptTokens: promptEstimate, completionTokens: 3 }],
] as const)("an upstream reporting %s", (_name, reported, maxTokens, billed) => {
  it.each([true, false])(
    "is billed at most what the host reserved and the client accepts (streamed: %s); the client signs and the session settles exactly",
    async (stream) => {
      lie = reported;
      const before = { promptTokens: await clamped("promptTokens"), completionTokens: await clamped("completionTokens") };
      const session = await openUserSession(stack.network, 1_000n);
      const request = { messages: [{ role: "user" as const, content: prompt }], maxTokens };
      const text = stream ? (await streamChat(session, request).result).text : (await chat(session, request)).text;
      expect(text).toBe(deltas.join(""));
      const view = await hostView(stack.host.url, session.jobId);
      expect(view.lastExchange).toMatchObject(billed);
      expect(session.cumulativeTokens).toBe(BigInt(billed.promptTokens + billed.completionTokens));
      // Counted where it was clamped, so that an operator sees it.
      for (const field of ["promptTokens", "completionTokens"] as const)
        expect(await clamped(field)).toBe(before[field] + (reported[field === "promptTokens" ? "prompt_tokens" : "completion_tokens"] > billed[field] ? 1 : 0));
      await closeExactly(stack.network, session);
    },
    30_000,
  );
});
