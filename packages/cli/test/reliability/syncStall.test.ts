import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import type { Session } from "@session-jobs/sdk";
import { openUserSession } from "./harness.ts";
import { hostMetric, nextSignedHeaders, postSigned, unsignedExchanges } from "./signedRequests.ts";
import { useHostStack } from "./stack.ts";

// A client that asks for a sync answer and never reads it (an attacker's raw socket, paused). The
// answer is larger than the kernel's socket buffers take (~4 MB on loopback), so the host's writes
// stall: past server.writeStallTimeoutMs without the client taking anything more the host cuts the
// connection, and the sync budget and the session's turn the answer held are free again.

const writeStallTimeoutMs = 3_000;
const stack = useHostStack(() => ({
  extra: { batch: { delayMs: 0 }, server: { writeStallTimeoutMs }, limits: { maxUnsignedBytes: 16 << 20, maxSyncBytesInFlight: 32 << 20 } },
}));

/** 12 exchanges of ~1 MB requests: ~16 MB of answer once base64-encoded. */
const [exchangeCount, pad] = [12, "x".repeat(1_000_000)];

/** Sends a signed sync request over a raw socket that never reads (paused before it connects). */
async function neverReadingSync(url: string, session: Session): Promise<Socket> {
  const body = JSON.stringify({ jobId: String(session.jobId) });
  const headers = await nextSignedHeaders(session, "/v1/session/sync", body);
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.pause();
  await new Promise((resolve) => socket.once("connect", resolve));
  const head = [`POST /v1/session/sync HTTP/1.1`, `host: ${hostname}:${port}`, "content-type: application/json", `content-length: ${body.length}`];
  socket.write([...head, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)].join("\r\n") + `\r\n\r\n${body}`);
  return socket;
}

/** Everything the socket received, once the host has closed it. */
function readToEnd(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.resume();
  return new Promise((resolve) => socket.once("close", () => resolve(Buffer.concat(chunks))));
}

describe("a client that never reads its sync answer", () => {
  it("is cut off once it takes nothing for writeStallTimeoutMs; the budget and the session's turn it held are free again", async () => {
    const session = await openUserSession(stack.network, 1_000n);
    const bodies = await unsignedExchanges(stack.host.url, session, exchangeCount, pad);
    const socket = await neverReadingSync(stack.host.url, session);
    await expect.poll(() => hostMetric(stack.host.url, "session_jobs_sync_bytes_held"), { timeout: 30_000 }).toBeGreaterThan(0);
    // Without a bound the answer held its bytes (and the session's turn) for as long as the client stayed.
    await expect.poll(() => hostMetric(stack.host.url, "session_jobs_sync_bytes_held"), { timeout: 30_000, interval: 200 }).toBe(0);
    const received = (await readToEnd(socket)).toString("latin1");
    expect(received.startsWith("HTTP/1.1 200")).toBe(true);
    expect(received.endsWith("0\r\n\r\n")).toBe(false); // cut off mid-answer: the chunked body never ended

    // The session's turn is free: its next sync is answered whole, to a client that reads.
    const response = await postSigned(stack.host.url, session, "/v1/session/sync", JSON.stringify({ jobId: String(session.jobId) }));
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { exchanges: { requestBody: string }[]; lastSequence: string };
    expect(answer.lastSequence).toBe(String(session.sequence));
    expect(answer.exchanges.map((exchange) => Buffer.from(exchange.requestBody, "base64").toString("utf8"))).toEqual(bodies);
    expect(await hostMetric(stack.host.url, "session_jobs_sync_bytes_held")).toBe(0);
  }, 120_000);
});
