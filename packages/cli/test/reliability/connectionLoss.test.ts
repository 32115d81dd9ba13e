import { describe, expect, it } from "vitest";
import { createEmbeddedBackend, type ChatBackend } from "@session-jobs/inference";
import { chat, HostUnreachableError, streamChat, type Session } from "@session-jobs/sdk";
import { breakOffStream, hostView, openUserSession, pacedBackend, waitForAbortedExchange } from "./harness.ts";
import { closeExactly, useHostStack } from "./stack.ts";
import { startTcpProxy, type TcpProxy } from "./tcpProxy.ts";

// The network between client and host fails: the connection drops in the middle of a streamed
// answer, or a plain answer never comes back although the host served it. The client is not
// disputed: its next request (once the network is back) recovers from the host what it recorded,
// checks it and signs for it, and the session settles exactly.

let model: ChatBackend;
let proxy: TcpProxy;
const stack = useHostStack(
  async () => {
    model = await createEmbeddedBackend();
    return { backend: pacedBackend(model, 5), extra: { batch: { delayMs: 0 } } };
  },
  { beforeStop: () => proxy?.close(), afterStop: () => model?.close() },
);

/** Waits (bounded) until the proxy forwards again. */
async function waitUntilReachable(url: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (
      await fetch(`${url}/health`).then(
        (response) => response.ok,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not come back within 5 s`);
}

/** A session whose requests go through a proxy in front of the host, which the test can break. */
async function openBehindProxy(): Promise<Session> {
  proxy ??= await startTcpProxy(new URL(stack.host.url));
  const session = await openUserSession(stack.network, 1_000n);
  session.hostUrl = proxy.url;
  return session;
}

describe("the connection to the host drops", () => {
  it("in the middle of a streamed answer: the session is not disputed, and once the network is back it recovers that answer and settles exactly", async () => {
    const session = await openBehindProxy();
    await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 20 });
    const signed = session.cumulativeTokens;

    const stream = streamChat(session, { messages: [{ role: "user", content: "And God said" }], maxTokens: 300, body: { temperature: 0 } });
    const { received } = await breakOffStream(stream, 5, () => proxy.setDown(true));
    expect(session.dispute).toBeUndefined();
    expect(session.resync).toBe(true);
    expect(session.cumulativeTokens).toBe(signed);

    // The host saw its client go, stopped, and billed what it wrote.
    const broken = await waitForAbortedExchange(stack.host.url, session.jobId);
    expect(broken.lastExchange!.completionTokens).toBeLessThan(150);

    // While the network is down the client can do nothing, and loses nothing.
    await expect(chat(session, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 20 })).rejects.toBeInstanceOf(HostUnreachableError);
    expect(session.resync).toBe(true);

    proxy.setDown(false);
    const next = await chat(session, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 20 });
    expect(next.recovered).toHaveLength(1);
    expect(next.recovered[0]).toMatchObject({ aborted: true, cumulativeTokens: BigInt(broken.servedTokens) });
    expect(next.recovered[0]!.text.startsWith(received)).toBe(true);
    expect(next.cumulativeTokens).toBe(BigInt(broken.servedTokens) + BigInt(next.promptTokens + next.completionTokens));
    expect(BigInt((await hostView(stack.host.url, session.jobId)).signedTokens)).toBe(session.cumulativeTokens);
    await closeExactly(stack.network, session);
  }, 40_000);

  it("after the host got a plain request but before its answer came back: the client recovers what the host recorded, or nothing if it billed nothing, and settles exactly", async () => {
    const session = await openBehindProxy();
    await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 20 });
    const signed = session.cumulativeTokens;

    // The request reaches the host; its answer is swallowed, then the connection is cut for 300 ms.
    const cut = proxy.cutAfter("POST /v1/chat/completions", 300);
    await expect(chat(session, { messages: [{ role: "user", content: "And the earth was" }], maxTokens: 20 })).rejects.toBeInstanceOf(HostUnreachableError);
    await cut;
    expect(session.dispute).toBeUndefined();
    expect(session.resync).toBe(true);
    expect(session.cumulativeTokens).toBe(signed);

    // Once back, the host's record decides: an answer it finished writing before it saw the client
    // go was billed and is recovered in full; one it had not is billed nothing and nothing is recovered.
    // Wait out the outage; by then the 20-token answer has ended, one way or the other.
    await waitUntilReachable(proxy.url);
    const billed = BigInt((await hostView(stack.host.url, session.jobId)).servedTokens) - signed;
    const next = await chat(session, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 20 });
    if (billed === 0n) expect(next.recovered).toEqual([]);
    else {
      expect(next.recovered).toHaveLength(1);
      expect(next.recovered[0]).toMatchObject({
        aborted: false,
        cumulativeTokens: signed + billed,
        request: { messages: [{ role: "user", content: "And the earth was" }] },
      });
    }
    expect(next.cumulativeTokens).toBe(signed + billed + BigInt(next.promptTokens + next.completionTokens));
    expect(BigInt((await hostView(stack.host.url, session.jobId)).signedTokens)).toBe(session.cumulativeTokens);
    await closeExactly(stack.network, session);
  }, 40_000);
});
