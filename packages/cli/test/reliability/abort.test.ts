import { describe, expect, it } from "vitest";
import { createEmbeddedBackend, type ChatBackend } from "@session-jobs/inference";
import { chat, closeSession, streamChat } from "@session-jobs/sdk";
import { demoKeys, walletFor } from "../../src/demo/localNetwork.ts";
import { hostView, openUserSession, useHostStack } from "./harness.ts";

// A client that aborts a streamed answer: the host stops generating, bills at most what it wrote,
// the SDK signs nothing for an answer it did not see end, and the settlement pays only receipts.

// The embedded model writes ~2,000 tokens/s: a whole answer can reach the client before it has
// read five deltas, and at temperature 1 it may end after a few. So the answer is greedy (which
// this model never ends early) and its deltas are paced, so that the abort lands mid-stream.
const deltaPaceMs = 5;
let model: ChatBackend;

function paced(inner: ChatBackend): ChatBackend {
  return {
    specificationVersion: inner.specificationVersion,
    provider: inner.provider,
    modelId: inner.modelId,
    generate: (request, options) => inner.generate(request, options),
    async *stream(request, options) {
      for await (const part of inner.stream(request, options)) {
        if (part.type === "text-delta") await new Promise((resolve) => setTimeout(resolve, deltaPaceMs));
        yield part;
      }
    },
    close: () => inner.close(),
  };
}

const stack = useHostStack(
  async () => {
    model = await createEmbeddedBackend();
    return { backend: paced(model), extra: { batch: { delayMs: 0 } } };
  },
  { afterStop: () => model?.close() },
);
const open = () => openUserSession(stack.network, 1000n);

describe("client aborts a stream mid-answer", () => {
  it("the host stops generating and bills only what it wrote; the user pays only for receipted exchanges", async () => {
    const session = await open();
    await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 20 });
    const signed = session.cumulativeTokens;
    const before = await hostView(stack.host.url, session.jobId);
    expect(BigInt(before.signedTokens)).toBe(signed);

    const maxTokens = 400;
    const controller = new AbortController();
    const stream = streamChat(session, { messages: [{ role: "user", content: "And God said" }], maxTokens, body: { temperature: 0 }, signal: controller.signal });
    let received = "";
    let deltas = 0;
    const started = Date.now();
    await expect(
      (async () => {
        for await (const delta of stream) {
          received += delta;
          if (++deltas === 5) controller.abort();
        }
      })(),
    ).rejects.toThrow();
    await expect(stream.result).rejects.toThrow();
    expect(deltas).toBeGreaterThanOrEqual(5);
    // The SDK saw no usage for this answer: it disputes the session and signs nothing more.
    expect(session.dispute).toBeDefined();
    expect(session.cumulativeTokens).toBe(signed);

    // The host records the exchange as aborted, well short of max_tokens, and bills it to the unsigned side.
    let view = await hostView(stack.host.url, session.jobId);
    for (let i = 0; view.lastSequence === before.lastSequence || view.servedTokens === before.servedTokens; i++) {
      expect(i).toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 50));
      view = await hostView(stack.host.url, session.jobId);
    }
    const exchange = view.lastExchange!;
    expect(exchange.aborted).toBe(true);
    expect(exchange.completionTokens).toBeGreaterThan(0);
    expect(exchange.completionTokens).toBeLessThan(maxTokens / 2);
    // The embedded model writes one token per delta: the client received at most what was billed.
    expect(exchange.completionTokens).toBeGreaterThanOrEqual(Buffer.byteLength(received) - 1);
    // Stopped promptly: at most a few dozen tokens were in flight when the host noticed (measured: none).
    expect(exchange.completionTokens).toBeLessThanOrEqual(deltas + 64);
    expect(BigInt(view.servedTokens)).toBe(BigInt(before.servedTokens) + BigInt(exchange.promptTokens + exchange.completionTokens));
    expect(view.signedTokens).toBe(before.signedTokens);
    // Generation stopped: nothing more is served afterwards.
    await new Promise((r) => setTimeout(r, 500));
    expect((await hostView(stack.host.url, session.jobId)).servedTokens).toBe(view.servedTokens);
    expect(Date.now() - started).toBeLessThan(10_000);

    // The model is free again: another session is served at once.
    const other = await open();
    const { text } = await chat(other, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 10 });
    expect(text.length).toBeGreaterThan(0);

    // Closing pays exactly the receipted tokens; the aborted answer is the host's loss (below one interval).
    const settlement = await closeSession(walletFor(stack.network, demoKeys.user), { session });
    expect(settlement.provenTokens).toBe(signed);
    expect(settlement.payment).toBe(signed * session.pricePerToken);
    expect(settlement.refund).toBe(session.deposit - signed * session.pricePerToken);
    expect(BigInt(view.servedTokens) - signed).toBeLessThan(session.proofInterval);
    await closeSession(walletFor(stack.network, demoKeys.user), { session: other });
  }, 55_000);

});
