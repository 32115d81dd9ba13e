import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readiness } from "./hostDashboard/readiness.ts";
import { servedBy } from "./hostDashboard/sessionRows.ts";
import { hostHealth } from "./hosts/useHosts.ts";
import { servedTokens } from "./meter/useSessionProgress.ts";

// Two hosts behind one gateway, each under its own path prefix; the gateway's root answers for neither.
const padding = "a".repeat(8 * 1024 * 1024);
let server: Server;
let base: string;
/** Whether the host has sent the whole of its slow health answer. */
let slowAnswerEnded = false;
beforeAll(async () => {
  server = createServer((request, response) => {
    const json = (status: number, body: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    switch (request.url) {
      case "/hostA/health":
        return json(200, {});
      case "/hostA/ready":
        return json(200, { checks: { node: "ok" } });
      case "/hostA/v1/session/7":
        return json(200, { servedTokens: "5", signedTokens: "4", unsignedTokens: "1" });
      case "/ready":
        return json(503, { error: { message: "another host" } });
      case "/v1/session/7":
        return json(200, { servedTokens: "999", signedTokens: "999", unsignedTokens: "0" });
      // A host whose answers are valid JSON, 8 MiB long.
      case "/huge/ready":
        return json(200, { checks: { node: "ok" }, padding });
      case "/huge/v1/session/7":
        return json(200, { servedTokens: "5", signedTokens: "4", unsignedTokens: "1", padding });
      // Headers at once, the body's end a moment later.
      case "/slow/health":
        response.writeHead(200, { "content-type": "application/json" }).write("{");
        return void setTimeout(() => {
          slowAnswerEnded = true;
          response.end("}");
        }, 200);
      default:
        return json(500, {});
    }
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((closed) => server.close(() => closed())));

describe("requests to a host keep its URL's path prefix", () => {
  for (const apiUrl of ["/hostA/", "/hostA"]) {
    it(`asks ${apiUrl}'s own /health, /ready and /v1/session, never the gateway's`, async () => {
      const url = `${base}${apiUrl}`;
      expect((await hostHealth(url)).ok).toBe(true);
      expect(await readiness(url)).toMatchObject({ ok: true, checks: { node: "ok" } });
      expect(await servedTokens({ hostUrl: url, jobId: 7n })).toBe(5n);
      expect(await servedBy(url, 7n)).toEqual({ served: 5n, signed: 4n, unsigned: 1n });
    });
  }
});

describe("a host's JSON views are read up to a bound", () => {
  it("refuses an 8 MiB answer rather than parse it", async () => {
    const url = `${base}/huge/`;
    expect(await readiness(url)).toEqual({ ok: false, detail: "its answer is too large", checks: {} });
    await expect(servedTokens({ hostUrl: url, jobId: 7n })).rejects.toThrow(/larger than/);
    expect(await servedBy(url, 7n)).toEqual({});
  });
});

describe("a health check", () => {
  it("is over at the host when it resolves: the answer is read to its end, not only its headers", async () => {
    expect((await hostHealth(`${base}/slow/`)).ok).toBe(true);
    expect(slowAnswerEnded).toBe(true);
  });
});
