import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateKeyToAccount } from "viem/accounts";
import {
  chat,
  closeSession,
  deserializeSession,
  openSession,
  serializeSession,
  SessionDisputedError,
  SessionReplayedError,
  streamChat,
  TokenCountMismatchError,
  type Session,
} from "@session-jobs/sdk";
import { demoKeys, walletFor, type LocalNetwork } from "../../src/demo/localNetwork.ts";
import { hostView, startInProcessHost, startNetwork } from "./harness.ts";

// A client process that dies and comes back with the session it saved (serializeSession).

let network: LocalNetwork;
let host: Awaited<ReturnType<typeof startInProcessHost>>;
beforeAll(async () => {
  network = await startNetwork();
  host = await startInProcessHost(network, { extra: { batch: { delayMs: 0 } } });
}, 45_000);
afterAll(async () => {
  await host?.stop();
  await network?.anvil.stop();
});

async function open(): Promise<Session> {
  const { session } = await openSession(walletFor(network, demoKeys.user), {
    contracts: network.deployment,
    host: privateKeyToAccount(demoKeys.host).address,
    deposit: 10n ** 16n,
    proofInterval: 100n,
    maxDuration: 86_400n,
    modelId: network.modelId,
  });
  return session;
}

describe("client restarts from its saved session", () => {
  it("between exchanges: resumes from the last receipt and settles every token it signed", async () => {
    let session = await open();
    await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 30 });
    await chat(session, { messages: [{ role: "user", content: "And God said" }], maxTokens: 30 });
    const saved = serializeSession(session);
    // The process dies; a new one reads the saved session and goes on.
    session = deserializeSession(saved);
    for (let i = 0; session.cumulativeTokens < 150n; i++) {
      expect(i).toBeLessThan(10);
      await chat(session, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 30 });
    }
    expect(session.dispute).toBeUndefined();
    expect(BigInt((await hostView(host.url, session.jobId)).signedTokens)).toBe(session.cumulativeTokens);
    const settlement = await closeSession(walletFor(network, demoKeys.user), { session });
    expect(settlement.provenTokens).toBe(session.cumulativeTokens);
    expect(settlement.refund).toBe(session.deposit - session.cumulativeTokens * session.pricePerToken);
  }, 40_000);

  // The host counts a stream the client broke off (it was written, so it is billed and in the
  // transcript), but the client never saw it end and has no receipt for it. A client that comes
  // back from its saved state cannot reconcile: the protocol has no way to take the aborted
  // exchange into the client's transcript. What must hold is that it is never made to pay for it.
  it("after dying mid-stream: cannot sign again (the session can only be closed), and pays exactly its last receipt", async () => {
    const first = await open();
    await chat(first, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 20 });
    const saved = serializeSession(first);
    const signed = first.cumulativeTokens;
    const controller = new AbortController();
    const stream = streamChat(first, { messages: [{ role: "user", content: "And God said" }], maxTokens: 300, signal: controller.signal });
    let deltas = 0;
    await expect(
      (async () => {
        for await (const _delta of stream) if (++deltas === 5) controller.abort();
      })(),
    ).rejects.toThrow();
    await stream.result.catch(() => undefined);
    for (let i = 0; (await hostView(host.url, first.jobId)).lastExchange?.aborted !== true; i++) {
      expect(i).toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 50));
    }

    const resumed = deserializeSession(saved);
    // Its saved sequence is the one the broken request used.
    await expect(chat(resumed, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 20 })).rejects.toBeInstanceOf(SessionReplayedError);
    // The next answer's cumulative count includes the aborted exchange: the SDK refuses to sign it.
    await expect(chat(resumed, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 20 })).rejects.toBeInstanceOf(TokenCountMismatchError);
    await expect(chat(resumed, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 20 })).rejects.toBeInstanceOf(SessionDisputedError);
    const view = await hostView(host.url, first.jobId);
    expect(BigInt(view.signedTokens)).toBe(signed);
    // The host's loss (served, never signed) stays below one interval.
    expect(BigInt(view.unsignedTokens)).toBeLessThan(first.proofInterval);

    const settlement = await closeSession(walletFor(network, demoKeys.user), { session: resumed });
    expect(settlement.closedBy).toBe("host");
    expect(settlement.provenTokens).toBe(signed);
    expect(settlement.refund).toBe(first.deposit - signed * first.pricePerToken);
  }, 40_000);
});
