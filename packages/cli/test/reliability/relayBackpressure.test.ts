import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { sessionEndpoints, signSessionRequestHeaders, type Session } from "@session-jobs/sdk";
import { openUserSession, waitForAbortedExchange } from "./harness.ts";
import { useUpstreamHostStack } from "./stack.ts";

// A client that stops reading a streamed answer must not make the host buffer the upstream's
// answer without bound: the host stops reading the upstream (its socket's buffers fill and the
// upstream's writes report it) until the client reads again. Without that back-pressure the host
// would take the whole answer below (128 MiB) into memory as fast as the upstream writes it.

const deltaBytes = 32 * 1024;
const deltas = 4_000;
const answerBytes = deltaBytes * deltas;
/** What the upstream managed to write of the answer, and whether it is waiting for the host to read. */
const written = { bytes: 0, waiting: false, finished: false, closed: false };

async function streamEndlessly(response: ServerResponse): Promise<void> {
  response.writeHead(200, { "content-type": "text/event-stream" });
  response.once("close", () => (written.closed = true));
  const event = `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: "word ".repeat(deltaBytes / 5) }, finish_reason: null }] })}\n\n`;
  for (let index = 0; index < deltas && !response.destroyed; index++) {
    written.bytes += event.length;
    if (response.write(event)) continue;
    written.waiting = true;
    await new Promise<void>((resolve) => {
      const done = () => (response.off("drain", done), response.off("close", done), resolve());
      response.on("drain", done);
      response.on("close", done);
    });
    written.waiting = false;
  }
  written.finished = true;
  response.end();
}

const stack = useUpstreamHostStack((request, response) => {
  request.resume();
  request.on("end", () => void streamEndlessly(response));
}, "upstream-model");

/** Sends a signed streamed chat request over node:http and resolves with the response, not reading its body. */
async function sendChat(url: string, session: Session): Promise<{ response: IncomingMessage; hangUp: () => void }> {
  const body = new TextEncoder().encode(JSON.stringify({ messages: [{ role: "user", content: "Say a lot" }], max_tokens: deltas, stream: true }));
  const headers = await signSessionRequestHeaders(privateKeyToAccount(session.sessionKey), session, {
    jobId: session.jobId,
    sequence: 1n,
    transcriptHash: session.transcriptHash,
    endpoint: sessionEndpoints.chat,
    body,
  });
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}${sessionEndpoints.chat}`, { method: "POST", headers: { ...headers, "content-type": "application/json" } });
    request.once("error", reject);
    request.once("response", (response) => {
      // Never read: the socket stays unread once Node's small buffer is full.
      response.pause();
      resolve({ response, hangUp: () => request.destroy() });
    });
    request.end(body);
  });
}

describe("a client that stops reading a relayed answer", () => {
  it("holds the upstream back instead of buffering its answer, and lets it go when the client leaves", async () => {
    const session = await openUserSession(stack.network, 1_000n);
    const { response, hangUp } = await sendChat(stack.host.url, session);
    expect(response.statusCode).toBe(200);
    // The client reads nothing more. The upstream writes until the buffers between it and the
    // client are full, then waits: the same amount, written and waiting, at several looks in a row.
    let stable = 0;
    let last = -1;
    await expect
      .poll(
        () => {
          stable = written.waiting && written.bytes === last ? stable + 1 : 0;
          last = written.bytes;
          return stable >= 5 || written.finished;
        },
        { timeout: 60_000, interval: 100 },
      )
      .toBe(true);
    expect(written.finished).toBe(false);
    expect(written.bytes).toBeLessThan(answerBytes / 2);
    hangUp();
    await expect.poll(() => written.closed, { timeout: 10_000 }).toBe(true);
    // Billed as an aborted exchange: what was written before the client left.
    expect((await waitForAbortedExchange(stack.host.url, session.jobId)).lastExchange!.aborted).toBe(true);
  }, 90_000);
});
