import { describe, expect, it } from "vitest";
import { createEmbeddedBackend, type ChatBackend } from "@session-jobs/inference";
import { chat, closeSession } from "@session-jobs/sdk";
import { demoKeys, walletFor } from "../../src/demo/localNetwork.ts";
import { hostView, openUserSession } from "./harness.ts";
import { useHostStack } from "./stack.ts";

// A non-streamed request whose client leaves before the answer: the host passes the disconnect on
// to the model (generation stops) and bills nothing, since nothing reached the client. The embedded
// model answers in ~100 ms, so the backend here is the embedded model behind a 3 s think time that
// honours the abort signal, long enough to leave during it.

const thinkMs = 3_000;
let model: ChatBackend;
const observed: { abortedAfterMs?: number; completed: number } = { completed: 0 };

function slowed(inner: ChatBackend): ChatBackend {
  return {
    specificationVersion: inner.specificationVersion,
    provider: inner.provider,
    modelId: inner.modelId,
    async generate(request, options) {
      const started = Date.now();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, thinkMs);
        options?.signal?.addEventListener(
          "abort",
          () => {
            observed.abortedAfterMs = Date.now() - started;
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      const result = await inner.generate(request, options);
      observed.completed++;
      return result;
    },
    stream: (request, options) => inner.stream(request, options),
    close: () => inner.close(),
  };
}

const stack = useHostStack(
  async () => {
    model = await createEmbeddedBackend();
    return { backend: slowed(model), extra: { batch: { delayMs: 0 } } };
  },
  { afterStop: () => model?.close() },
);

describe("client leaves a non-streamed request before its answer", () => {
  it("stops the generation and bills nothing; the session settles at its last receipt", async () => {
    const session = await openUserSession(stack.network, 100n);
    await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 20 });
    const before = await hostView(stack.host.url, session.jobId);
    expect(observed.completed).toBe(1);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    await expect(chat(session, { messages: [{ role: "user", content: "And God said" }], maxTokens: 200, signal: controller.signal })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(thinkMs);
    // The host tells the model at once (well before the think time is up).
    for (let i = 0; observed.abortedAfterMs === undefined; i++) {
      expect(i).toBeLessThan(40);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(observed.abortedAfterMs).toBeLessThan(thinkMs / 2);
    await new Promise((r) => setTimeout(r, 300));
    const after = await hostView(stack.host.url, session.jobId);
    expect(after.servedTokens).toBe(before.servedTokens);
    expect(after.signedTokens).toBe(before.signedTokens);
    expect(after.lastExchange?.sequence).toBe(before.lastExchange?.sequence);

    const settlement = await closeSession(walletFor(stack.network, demoKeys.user), { session });
    expect(settlement.provenTokens).toBe(BigInt(before.signedTokens));
    expect(settlement.refund).toBe(session.deposit - BigInt(before.signedTokens) * session.pricePerToken);
  }, 40_000);
});
