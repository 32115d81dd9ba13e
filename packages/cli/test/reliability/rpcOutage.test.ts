import { describe, expect, it } from "vitest";
import { stringToBytes } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { chat, closeSession, getSession, signSessionRequestHeaders, type Session } from "@session-jobs/sdk";
import { demoKeys, walletFor } from "../../src/demo/localNetwork.ts";
import { openUserSession, proofEvents } from "./harness.ts";
import { useHostStack } from "./stack.ts";
import { startTcpProxy, type TcpProxy } from "./tcpProxy.ts";

// The host's RPC goes away (every connection dropped) and comes back: the node keeps serving
// sessions it knows, refuses what needs the chain with 503 chain_unavailable, retries its due
// proof, and lands it exactly once when the RPC returns.

let proxy: TcpProxy;
const stack = useHostStack(
  async (network) => {
    proxy = await startTcpProxy(new URL(network.anvil.rpcUrl));
    return { extra: { rpcUrl: proxy.url, batch: { delayMs: 0 }, limits: { sessionCacheMs: 30_000 } }, submitterTickMs: 500 };
  },
  { beforeStop: () => proxy?.setDown(false), afterStop: () => proxy?.close() },
);
const open = () => openUserSession(stack.network, 100n);

const marketplace = () => stack.network.deployment.jobMarketplace;
const proven = async (session: Session) => (await getSession(stack.network.publicClient, { marketplace: marketplace(), jobId: session.jobId })).provenTokens;
async function waitProven(session: Session, tokens: bigint, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while ((await proven(session)) < tokens) {
    if (Date.now() > deadline) throw new Error(`session ${session.jobId}: ${await proven(session)} of ${tokens} tokens proven after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** With the RPC down, chats through a cached session until a checkpoint proof is due (and cannot land). */
async function signPastCheckpointWhileDown(): Promise<Session> {
  const session = await open();
  await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 20 });
  proxy.setDown(true);
  for (let i = 0; session.cumulativeTokens < 100n; i++) {
    expect(i).toBeLessThan(10);
    await chat(session, { messages: [{ role: "user", content: "And God said" }], maxTokens: 40 });
  }
  await new Promise((r) => setTimeout(r, 1_000));
  expect(await proven(session)).toBe(0n);
  expect((await fetch(`${stack.host.url}/health`)).status).toBe(200);
  return session;
}

describe("the host's RPC goes away and comes back", () => {
  it("keeps serving known sessions, answers 503 chain_unavailable for unknown ones, and proves exactly once once the client goes on", async () => {
    const session = await signPastCheckpointWhileDown();

    // A session the host has never read cannot be checked: 503 with a code, and nothing recorded.
    const fresh = await open();
    const body = JSON.stringify({ messages: [{ role: "user", content: "Genesis 1:1" }], max_tokens: 10 });
    const signed = await signSessionRequestHeaders(privateKeyToAccount(fresh.sessionKey), fresh, {
      jobId: fresh.jobId,
      sequence: 1n,
      transcriptHash: fresh.transcriptHash,
      endpoint: "/v1/chat/completions",
      body: stringToBytes(body),
    });
    const refused = await fetch(`${stack.host.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...signed },
      body,
    });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("chain_unavailable");
    expect((await fetch(`${stack.host.url}/v1/session/${fresh.jobId}`)).status).toBe(404);

    proxy.setDown(false);
    // The client's next exchange (and receipt) puts the due proof back in the queue.
    await chat(session, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 10 });
    await waitProven(session, 100n, 15_000);

    // The fresh session works now, and both settle exactly, every token proven once.
    await chat(fresh, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 10 });
    for (const s of [session, fresh]) {
      const settlement = await closeSession(walletFor(stack.network, demoKeys.user), { session: s });
      expect(settlement.closedBy).toBe("host");
      expect(settlement.provenTokens).toBe(s.cumulativeTokens);
      const proofs = await proofEvents(stack.network.publicClient, marketplace(), s.jobId);
      expect(proofs.reduce((sum, log) => sum + log.args.tokens, 0n)).toBe(s.cumulativeTokens);
    }
  }, 58_000);

  // Regression: a due proof whose preparation failed on the chain read used to be dropped from the
  // queue until the idle flush (1 h), leaving the depositor free to complete without paying for it.
  it("proves a checkpoint that fell due during the outage soon after the RPC returns, without further client activity", async () => {
    const session = await signPastCheckpointWhileDown();
    const signed = session.cumulativeTokens;
    // An outage of ten seconds (the fresh session read that prepares the proof fails meanwhile).
    await new Promise((r) => setTimeout(r, 10_000));
    proxy.setDown(false);
    await waitProven(session, signed, 10_000);
  }, 30_000);
});
