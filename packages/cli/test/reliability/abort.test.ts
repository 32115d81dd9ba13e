import { describe, expect, it } from "vitest";
import { createEmbeddedBackend, type ChatBackend } from "@session-jobs/inference";
import { chat, closeSession, streamChat, syncSession } from "@session-jobs/sdk";
import { demoKeys, walletFor } from "../../src/demo/localNetwork.ts";
import { breakOffStream, hostView, openUserSession, pacedBackend, recordingBackend, waitForAbortedExchange } from "./harness.ts";
import { useHostStack } from "./stack.ts";

// A client that aborts a streamed answer: the host stops generating and bills at most one token per
// delta it wrote; the SDK signs nothing until it has recovered the host's record of the answer
// (POST /v1/session/sync) and checked it; the settlement pays exactly the receipts.

// The embedded model writes ~2,000 tokens/s: a whole answer can reach the client before it has
// read five deltas, and at temperature 1 it may end after a few. So the answer is greedy (which
// this model never ends early) and its deltas are paced, so that the abort lands mid-stream.
const deltaPaceMs = 5;
let model: ChatBackend;
let recorder: ReturnType<typeof recordingBackend>;

const stack = useHostStack(
  async () => {
    model = await createEmbeddedBackend();
    recorder = recordingBackend(pacedBackend(model, deltaPaceMs));
    return { backend: recorder.backend, extra: { batch: { delayMs: 0 } } };
  },
  { afterStop: () => model?.close() },
);
const open = () => openUserSession(stack.network, 1000n);

describe("client aborts a stream mid-answer", () => {
  it("the host stops generating and bills only what it wrote; the client recovers and signs for that, and pays exactly its receipts", async () => {
    const session = await open();
    await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 20 });
    const signed = session.cumulativeTokens;
    const before = await hostView(stack.host.url, session.jobId);
    expect(BigInt(before.signedTokens)).toBe(signed);

    const maxTokens = 400;
    const controller = new AbortController();
    const stream = streamChat(session, {
      messages: [{ role: "user", content: "And God said" }],
      maxTokens,
      body: { temperature: 0 },
      signal: controller.signal,
    });
    const { received, deltas } = await breakOffStream(stream, 5, () => controller.abort());
    await expect(stream.result).rejects.toThrow();
    expect(deltas).toBeGreaterThanOrEqual(5);
    // The SDK saw no usage for this answer: it signs nothing for it yet and marks the session for a sync.
    expect(session.dispute).toBeUndefined();
    expect(session.resync).toBe(true);
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
    expect(exchange.completionTokens).toBeGreaterThanOrEqual(deltas);
    expect(BigInt(view.servedTokens)).toBe(BigInt(before.servedTokens) + BigInt(exchange.promptTokens + exchange.completionTokens));
    expect(view.signedTokens).toBe(before.signedTokens);
    // Generation stopped: nothing more is served afterwards.
    await new Promise((r) => setTimeout(r, 500));
    expect((await hostView(stack.host.url, session.jobId)).servedTokens).toBe(view.servedTokens);

    // The model is free again: another session is served at once.
    const other = await open();
    const { text } = await chat(other, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 10 });
    expect(text.length).toBeGreaterThan(0);

    // The client recovers the host's record of the broken-off answer: what it received, plus at most
    // what was in flight, billed as recorded; it checks it and signs one receipt covering it.
    const { recovered, receipt } = await syncSession(session);
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toMatchObject({
      aborted: true,
      promptTokens: exchange.promptTokens,
      completionTokens: exchange.completionTokens,
      cumulativeTokens: BigInt(view.servedTokens),
    });
    expect(recovered[0]!.text.startsWith(received)).toBe(true);
    // The documented bound (docs/failure-model.md): at most one completion token per delta the host wrote.
    const written = recorder.deltasSpelling(recovered[0]!.text);
    expect(written).toBeGreaterThanOrEqual(deltas);
    expect(exchange.completionTokens).toBeLessThanOrEqual(written!);
    expect(session.resync).toBe(false);
    expect(session.cumulativeTokens).toBe(BigInt(view.servedTokens));
    expect(receipt).toMatchObject({ cumulativeTokens: BigInt(view.servedTokens), delivered: true });
    const synced = await hostView(stack.host.url, session.jobId);
    expect(synced.signedTokens).toBe(view.servedTokens);
    expect(synced.transcriptHash).toBe(session.transcriptHash);

    // The session goes on as if nothing happened.
    const next = await chat(session, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 10 });
    expect(next.cumulativeTokens).toBe(BigInt(view.servedTokens) + BigInt(next.promptTokens + next.completionTokens));

    // Closing pays exactly the receipted tokens: the aborted answer as billed, and nothing unsigned.
    const settlement = await closeSession(walletFor(stack.network, demoKeys.user), { session });
    expect(settlement.provenTokens).toBe(session.cumulativeTokens);
    expect(settlement.payment).toBe(session.cumulativeTokens * session.pricePerToken);
    expect(settlement.refund).toBe(session.deposit - session.cumulativeTokens * session.pricePerToken);
    await closeSession(walletFor(stack.network, demoKeys.user), { session: other });
  }, 55_000);

  it("a client that aborts and closes at once pays for what the host wrote, after checking it, and nothing more", async () => {
    const session = await open();
    await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 20 });
    const signed = session.cumulativeTokens;
    const controller = new AbortController();
    const stream = streamChat(session, {
      messages: [{ role: "user", content: "And God said" }],
      maxTokens: 400,
      body: { temperature: 0 },
      signal: controller.signal,
    });
    await breakOffStream(stream, 3, () => controller.abort());
    const view = await waitForAbortedExchange(stack.host.url, session.jobId);
    const billed = BigInt(view.servedTokens) - signed;
    expect(billed).toBeGreaterThan(0n);
    expect(view.lastExchange!.completionTokens).toBeLessThan(200);

    // closeSession syncs first: the receipt it leaves the host covers the aborted answer.
    const settlement = await closeSession(walletFor(stack.network, demoKeys.user), { session });
    expect(settlement.closedBy).toBe("host");
    expect(settlement.provenTokens).toBe(signed + billed);
    expect(settlement.payment).toBe((signed + billed) * session.pricePerToken);
    expect(settlement.refund).toBe(session.deposit - (signed + billed) * session.pricePerToken);
    expect(session.resync).toBe(false);
  }, 55_000);
});
