import { createServer, type Server } from "node:http";
import { describe, expect, it } from "vitest";
import { createOpenAICompatibleBackend } from "@session-jobs/inference";
import { closeSession, streamChat, syncSession } from "@session-jobs/sdk";
import { demoKeys, walletFor } from "../../src/demo/localNetwork.ts";
import { breakOffStream, openUserSession, waitForAbortedExchange } from "./harness.ts";
import { useHostStack } from "./stack.ts";

// A client sends a long prompt to a host in front of an OpenAI-compatible upstream and drops the
// stream after a few deltas. The upstream evaluated the whole prompt but reports usage only at the
// end, which never comes. The host bills the prompt as the upstream counts it (usage in every
// chunk, or its /tokenize), else at the documented bound the SDK's count check accepts.

const upstreamPromptTokens = 2_867;
const deltasBeforeHang = 5;
type Mode = "continuous-usage" | "tokenize" | "neither";
let mode: Mode = "tokenize";
let upstream: Server;

/** An OpenAI-compatible server that streams a few deltas, then hangs until the host hangs up. */
function startUpstream(): Promise<string> {
  upstream = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      if (request.url === "/tokenize") {
        if (mode !== "tokenize") return void response.writeHead(404).end();
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ count: upstreamPromptTokens, max_model_len: 8192, tokens: [] }));
        return;
      }
      response.writeHead(200, { "content-type": "text/event-stream" });
      for (let index = 0; index < deltasBeforeHang; index++) {
        const usage =
          mode === "continuous-usage"
            ? { usage: { prompt_tokens: upstreamPromptTokens, completion_tokens: index + 1, total_tokens: upstreamPromptTokens + index + 1 } }
            : {};
        response.write(
          `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: "word " }, finish_reason: null }], ...usage })}\n\n`,
        );
      }
    });
  });
  return new Promise((resolve) => upstream.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(upstream.address() as { port: number }).port}/v1`)));
}

const stack = useHostStack(
  async () => {
    const backend = createOpenAICompatibleBackend({ baseUrl: await startUpstream(), model: "upstream-model" });
    return { backend, extra: { batch: { delayMs: 0 } } };
  },
  {
    afterStop: () =>
      new Promise<void>((resolve) => {
        upstream?.close(() => resolve());
        upstream?.closeAllConnections();
      }),
  },
);

const longPrompt = "In the beginning God created the heaven and the earth. ".repeat(200);
const promptBound = Buffer.byteLength(longPrompt) + 8;

describe.each([
  ["continuous-usage", upstreamPromptTokens],
  ["tokenize", upstreamPromptTokens],
  ["neither", promptBound],
] as const)("an aborted upstream stream (%s)", (upstreamMode, expectedPrompt) => {
  it(`bills the prompt (${expectedPrompt} tokens) and at most one token per delta written; the client checks it and pays it`, async () => {
    mode = upstreamMode;
    const session = await openUserSession(stack.network, 1_000n);
    const controller = new AbortController();
    const stream = streamChat(session, { messages: [{ role: "user", content: longPrompt }], maxTokens: 100, signal: controller.signal });
    const { deltas } = await breakOffStream(stream, 3, () => controller.abort());
    const view = await waitForAbortedExchange(stack.host.url, session.jobId);
    expect(view.lastExchange!.promptTokens).toBe(expectedPrompt);
    expect(view.lastExchange!.completionTokens).toBeGreaterThanOrEqual(deltas);
    expect(view.lastExchange!.completionTokens).toBeLessThanOrEqual(deltasBeforeHang);

    // The SDK's count check accepts the bill: it signs for it and the session goes on.
    const { recovered, receipt } = await syncSession(session);
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toMatchObject({ aborted: true, promptTokens: expectedPrompt });
    expect(receipt?.cumulativeTokens).toBe(BigInt(view.servedTokens));
    const settlement = await closeSession(walletFor(stack.network, demoKeys.user), { session });
    expect(settlement.provenTokens).toBe(BigInt(view.servedTokens));
    expect(settlement.provenTokens).toBeGreaterThanOrEqual(BigInt(expectedPrompt));
  }, 30_000);
});
