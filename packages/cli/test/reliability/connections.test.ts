import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { useHostStack } from "./stack.ts";

// Connection exhaustion on loopback: idle and trickling connections from one address, then from
// many. The whole 127/8 block is loopback on Linux, so 127.0.0.2… act as other remote addresses.
// Refused connections are answered 503 too_many_connections at once; admitted ones that never
// finish their request are answered 408 and closed after the (short) header or request timeout.

const perAddress = 4;
const total = 16;
const stack = useHostStack(() => ({
  extra: { server: { maxConnections: total, maxConnectionsPerAddress: perAddress, headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 } },
}));

type Held = { socket: Socket; answer: Promise<string> };

/** Opens a connection from `localAddress`, writes `bytes` and never finishes the request; `answer` is the status line and error code received before the host closed it. */
async function openSlow(localAddress: string, bytes: string): Promise<Held> {
  const url = new URL(stack.host.url);
  const socket = connect({ port: Number(url.port), host: url.hostname, localAddress });
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write(bytes);
  const answer = new Promise<string>((resolve) => {
    let data = "";
    socket.on("data", (chunk) => (data += String(chunk)));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? "closed";
      const code = /"code":"([a-z_]+)"/.exec(data)?.[1] ?? "";
      resolve(`${status} ${code}`.trim());
    });
  });
  return { socket, answer };
}

const partialHeaders = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: a";
const count = (answers: string[]) => Object.fromEntries([...new Set(answers)].sort().map((answer) => [answer, answers.filter((a) => a === answer).length]));

describe("connection exhaustion", () => {
  it(`one address holds at most ${perAddress} connections; header and body trickles are cut by the timeouts; others are served meanwhile`, async () => {
    const attacker: Held[] = [];
    for (let i = 0; i < 3 * perAddress; i++) attacker.push(await openSlow("127.0.0.2", partialHeaders));
    // Another address trickles a body that never ends.
    const body = await openSlow(
      "127.0.0.3",
      'POST /v1/session/receipt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"job',
    );
    // A bystander is served while the attacker's connections are open.
    expect((await fetch(`${stack.host.url}/health`)).status).toBe(200);
    const answers = await Promise.all(attacker.map((held) => held.answer));
    expect(count(answers)).toEqual({ "408 invalid_request": perAddress, "503 too_many_connections": 2 * perAddress });
    expect(await body.answer).toBe("408 invalid_request");
    expect((await fetch(`${stack.host.url}/health`)).status).toBe(200);
  }, 30_000);

  it(`all addresses together hold at most ${total} connections, and the host serves again once the trickles are cut`, async () => {
    const addresses = Array.from({ length: 5 }, (_, i) => `127.0.0.${10 + i}`);
    const held: Held[] = [];
    for (const address of addresses) for (let i = 0; i < perAddress; i++) held.push(await openSlow(address, partialHeaders));
    const answers = count(await Promise.all(held.map((connection) => connection.answer)));
    // The bystander's pooled keep-alive connection may still count: at most `total` are admitted.
    const admitted = answers["408 invalid_request"]!;
    const refused = answers["503 too_many_connections"]!;
    expect(Object.keys(answers).sort()).toEqual(["408 invalid_request", "503 too_many_connections"]);
    expect(admitted).toBeLessThanOrEqual(total);
    expect(admitted).toBeGreaterThanOrEqual(total - 1);
    expect(admitted + refused).toBe(addresses.length * perAddress);
    const metrics = await (await fetch(`${stack.host.url}/metrics`)).text();
    expect(metrics).toContain(`session_jobs_connections_refused_total{reason="total"} ${refused}\n`);
    expect(metrics).toContain(`session_jobs_connections_refused_total{reason="address"} ${2 * perAddress}\n`);
    expect((await fetch(`${stack.host.url}/health`)).status).toBe(200);
  }, 30_000);
});
