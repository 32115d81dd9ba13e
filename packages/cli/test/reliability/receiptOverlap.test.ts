import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { streamChat, type Session } from "@session-jobs/sdk";
import { hostView, openUserSession } from "./harness.ts";
import { closeExactly, useHostStack } from "./stack.ts";

// docs/design.md, "Receipts overlap the next request", on the real host: a stream's iteration
// ends once its exchange is accepted, and the next request goes out while the receipt is on its
// way. The host decides whether it serves ahead of the receipt: below its `limits.maxUnsignedTokens`
// it does; above, it refuses (session_receipt_overdue), the SDK waits for the receipt and sends again.

const maxUnsignedTokens = 100;
const stack = useHostStack(() => ({ extra: { batch: { delayMs: 0 }, limits: { maxUnsignedTokens } } }));

/**
 * An HTTP proxy in front of the host that holds each receipt until a later chat request has had
 * the host's answer (its status), so the overlap happens every time, however the machine is
 * loaded; `events` lists what the host answered, in order.
 */
async function startReceiptHoldingProxy(target: string) {
  const events: string[] = [];
  let held: (() => void)[] = [];
  let holding = true;
  const releaseHeld = () => {
    const waiting = held;
    held = [];
    for (const release of waiting) release();
  };
  const forward = (incoming: IncomingMessage, outgoing: ServerResponse, body: Buffer, onStatus: (status: number) => void) => {
    const upstream = httpRequest(new URL(incoming.url ?? "/", target), { method: incoming.method, headers: incoming.headers }, (answer) => {
      onStatus(answer.statusCode ?? 0);
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    });
    upstream.on("error", () => outgoing.destroy());
    upstream.end(body);
  };
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      if (incoming.url === "/v1/session/receipt") {
        held.push(() => forward(incoming, outgoing, body, (status) => events.push(`receipt ${status}`)));
        if (!holding) releaseHeld();
        return;
      }
      forward(incoming, outgoing, body, (status) => {
        if (incoming.url !== "/v1/chat/completions") return;
        events.push(`chat ${status}`);
        releaseHeld();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    events,
    /** Holds receipts again (`true`), or lets every receipt through from now on (`false`). */
    hold(on: boolean) {
      holding = on;
      if (!on) releaseHeld();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let proxy: Awaited<ReturnType<typeof startReceiptHoldingProxy>>;
beforeAll(async () => (proxy = await startReceiptHoldingProxy(stack.host.url)));
afterAll(() => proxy?.close());

/** Streams `prompts` back to back, each iterated to its end before the next is sent; the results awaited last. */
async function backToBack(session: Session, prompts: string[], maxTokens: number) {
  const results = [];
  for (const content of prompts) {
    const stream = streamChat(session, { messages: [{ role: "user", content }], maxTokens });
    for await (const _delta of stream);
    results.push(stream.result);
  }
  // The newest receipts have no later request to release them.
  proxy.hold(false);
  return Promise.all(results);
}

describe("back-to-back requests on the real host, receipts held on the way", () => {
  it("below the host's unsigned limit: the next request is served before the previous receipt's 200", async () => {
    proxy.events.length = 0;
    proxy.hold(true);
    const session = await openUserSession(stack.network, 1_000n);
    session.hostUrl = proxy.url;
    const results = await backToBack(session, ["In the beginning", "And God said"], 4);
    expect(proxy.events).toEqual(["chat 200", "chat 200", "receipt 200", "receipt 200"]);
    for (const result of results) expect(result.receipt.delivered).toBe(true);
    const view = await hostView(stack.host.url, session.jobId);
    expect(BigInt(view.signedTokens)).toBe(session.cumulativeTokens);
    session.hostUrl = stack.host.url;
    await closeExactly(stack.network, session);
  }, 60_000);

  it("above it (session_receipt_overdue): every request still completes once its receipt is in, and the session settles exactly", async () => {
    proxy.events.length = 0;
    proxy.hold(true);
    const session = await openUserSession(stack.network, 1_000n);
    session.hostUrl = proxy.url;
    // Each prompt alone is past the host's limit of unsigned tokens: every overlapping request is refused once.
    const prompt = (verse: string) => `${verse} ${"and the earth was without form and void ".repeat(20)}`;
    const results = await backToBack(session, [prompt("In the beginning"), prompt("And God said"), prompt("Let there be light")], 4);
    expect(proxy.events).toEqual(["chat 200", "chat 402", "receipt 200", "chat 200", "chat 402", "receipt 200", "chat 200", "receipt 200"]);
    expect(results.map((result) => result.receipt.delivered)).toEqual([true, true, true]);
    expect(results.at(-1)!.cumulativeTokens).toBe(session.cumulativeTokens);
    expect(results[0]!.promptTokens).toBeGreaterThanOrEqual(maxUnsignedTokens);
    session.hostUrl = stack.host.url;
    await closeExactly(stack.network, session);
  }, 60_000);
});
