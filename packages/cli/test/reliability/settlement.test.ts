import { describe, expect, it } from "vitest";
import { createEmbeddedBackend, type ChatBackend } from "@session-jobs/inference";
import { chat, jobMarketplaceWithModelsAbi, streamChat, type Session } from "@session-jobs/sdk";
import { demoKeys, walletFor } from "../../src/demo/localNetwork.ts";
import { hostView, openUserSession, type HostSessionView } from "./harness.ts";
import { useHostStack } from "./stack.ts";

// A user settles on chain (completeSessionJob, full refund) behind the host's back. Once the host
// has seen the settlement block it serves the session nothing more: not the next request, and not
// another token of an answer that is streaming. The host's session cache (5 s) would have let it go on.

/** Streams the first `openDeltas` deltas of an answer, then waits while the test `hold()`s it. */
function gatedBackend(inner: ChatBackend, openDeltas: number) {
  let gate = Promise.resolve();
  const backend: ChatBackend = {
    ...inner,
    generate: (request, options) => inner.generate(request, options),
    async *stream(request, options) {
      let deltas = 0;
      for await (const part of inner.stream(request, options)) {
        if (part.type === "text-delta" && ++deltas > openDeltas) await gate;
        yield part;
      }
    },
    close: () => inner.close(),
  };
  /** Holds answers after their first deltas; the returned function lets them go on. */
  const hold = () => {
    let release!: () => void;
    gate = new Promise<void>((resolve) => (release = resolve));
    return release;
  };
  return { backend, hold };
}

let model: ChatBackend;
let gated: ReturnType<typeof gatedBackend>;
const stack = useHostStack(
  async () => {
    model = await createEmbeddedBackend();
    gated = gatedBackend(model, 3);
    return { backend: gated.backend, extra: { batch: { delayMs: 0 } } };
  },
  { afterStop: () => model?.close() },
);

async function completeOnChain(session: Session): Promise<void> {
  const wallet = walletFor(stack.network, demoKeys.user);
  const hash = await wallet.writeContract({
    address: stack.network.deployment.jobMarketplace,
    abi: jobMarketplaceWithModelsAbi,
    functionName: "completeSessionJob",
    args: [session.jobId],
  });
  expect((await stack.network.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
}

/** Waits (bounded in count) until the host has seen the session end. */
async function hostSawSettlement(session: Session): Promise<HostSessionView> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const view = await hostView(stack.host.url, session.jobId);
    if (view.closed) return view;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the host did not see session ${session.jobId} settle`);
}

describe("a session settled on chain by its user", () => {
  it("is served nothing more once the host has seen the settlement block", async () => {
    const session = await openUserSession(stack.network, 1_000n);
    await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 10 });
    await completeOnChain(session);
    const view = await hostSawSettlement(session);
    await expect(chat(session, { messages: [{ role: "user", content: "And God said" }], maxTokens: 10 })).rejects.toMatchObject({ code: "session_not_active" });
    expect((await hostView(stack.host.url, session.jobId)).servedTokens).toBe(view.servedTokens);
  }, 30_000);

  it("stops an answer that is streaming when the settlement block is seen", async () => {
    const release = gated.hold();
    const session = await openUserSession(stack.network, 1_000n);
    await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 10 });
    const served = (await hostView(stack.host.url, session.jobId)).servedTokens;
    const stream = streamChat(session, { messages: [{ role: "user", content: "And God said" }], maxTokens: 200, body: { temperature: 0 } });
    const deltas: string[] = [];
    const reading = (async () => {
      for await (const delta of stream) {
        deltas.push(delta);
        if (deltas.length === 3)
          await completeOnChain(session)
            .then(() => hostSawSettlement(session))
            .then(release);
      }
    })();
    await expect(reading).rejects.toMatchObject({ code: "session_not_active" });
    // The three deltas before the gate, and not one after the host saw the settlement.
    expect(deltas).toHaveLength(3);
    expect((await hostView(stack.host.url, session.jobId)).servedTokens).toBe(served);
  }, 30_000);
});
