import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommon } from "../common.ts";
import { resolveHostConfig } from "../config/config.ts";
import { sendJson } from "./httpIo.ts";
import { createHttpServer, type HttpServer } from "./server.ts";
import { rawRequest, type RawAnswer } from "../testUtils/rawRequest.ts";

/** A request to a whole URL (path and query as written). */
function send(url: string, method: string, headers: Record<string, string>): Promise<RawAnswer> {
  const { origin, pathname, search } = new URL(url);
  return rawRequest(origin, { path: pathname + search, method, headers });
}

const app = "http://app.example:5173";
const servers: HttpServer[] = [];
async function start(corsOrigins?: string[]): Promise<string> {
  const server = createHttpServer({
    common: createCommon({ logLevel: "error" }),
    host: "127.0.0.1",
    port: 0,
    ...(corsOrigins && { corsOrigins }),
    routes: [{ method: "GET", path: "/health", handler: (_request, response) => sendJson(response, 200, { status: "ok" }) }],
  });
  servers.push(server);
  return server.listen();
}

let listed: string;
let open: string;
let closed: string;
beforeAll(async () => {
  [listed, open, closed] = await Promise.all([start([app]), start(["*"]), start()]);
});
afterAll(() => Promise.all(servers.map((server) => server.close({ graceMs: 100 }))));

const preflight = { origin: app, "access-control-request-method": "POST", "access-control-request-headers": "content-type, x-session-signature" };

describe("CORS", () => {
  it("answers a listed origin's preflight with the session headers allowed", async () => {
    const answer = await send(`${listed}/v1/chat/completions`, "OPTIONS", preflight);
    expect(answer.status).toBe(204);
    expect(answer.headers["access-control-allow-origin"]).toBe(app);
    expect(answer.headers["access-control-allow-methods"]).toBe("GET, POST");
    expect(String(answer.headers["access-control-allow-headers"]).split(", ")).toEqual(
      expect.arrayContaining(["content-type", "x-session-job-id", "x-session-sequence", "x-session-signature", "x-session-transcript"]),
    );
    expect(answer.headers.vary).toBe("Origin");
  });

  it("lets a listed origin read answers and exposes the session headers", async () => {
    const answer = await send(`${listed}/health`, "GET", { origin: app });
    expect(answer.status).toBe(200);
    expect(answer.headers["access-control-allow-origin"]).toBe(app);
    expect(String(answer.headers["access-control-expose-headers"])).toContain("x-session-job-id");
    expect(String(answer.headers["access-control-expose-headers"]).split(", ")).toEqual(expect.arrayContaining(["retry-after", "content-encoding"]));
  });

  it("gives an unlisted origin no allow headers, also on errors and preflights", async () => {
    for (const [method, path, headers] of [
      ["GET", "/health", { origin: "http://evil.example" }],
      ["GET", "/nowhere", { origin: "http://evil.example" }],
      ["OPTIONS", "/v1/chat/completions", { ...preflight, origin: "http://evil.example" }],
      ["OPTIONS", "/v1/chat/completions", { ...preflight, origin: "null" }],
    ] as const) {
      const answer = await send(`${listed}${path}`, method, headers);
      expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
      expect(answer.headers["access-control-allow-methods"]).toBeUndefined();
    }
  });

  it("allows any origin with *, and sets CORS headers on error answers too", async () => {
    const answer = await send(`${open}/nowhere`, "GET", { origin: "http://anything.example" });
    expect(answer.status).toBe(404);
    expect(answer.headers["access-control-allow-origin"]).toBe("*");
    expect((await send(`${open}/health`, "OPTIONS", { ...preflight, origin: "http://anything.example" })).status).toBe(204);
  });

  it("sends no CORS headers when no origin is configured, and OPTIONS stays a 405", async () => {
    const answer = await send(`${closed}/health`, "GET", { origin: app });
    expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
    expect((await send(`${closed}/health`, "OPTIONS", preflight)).status).toBe(405);
  });
});

describe("server.corsOrigins", () => {
  const minimal = {
    rpcUrl: "http://127.0.0.1:8545",
    privateKey: `0x${"11".repeat(32)}`,
    contracts: { jobMarketplace: `0x${"22".repeat(20)}`, nodeRegistry: `0x${"33".repeat(20)}` },
    models: [`0x${"44".repeat(32)}`],
    pricing: { minPricePerToken: 2000 },
  };

  it("takes origins and *", () => {
    expect(resolveHostConfig({ ...minimal, server: { corsOrigins: [app, "https://x.example", "*"] } }).server.corsOrigins).toEqual([
      app,
      "https://x.example",
      "*",
    ]);
  });

  it("refuses a path, a bare host, a non-list and a non-http scheme in one error", () => {
    for (const corsOrigins of [["https://app.example/"], ["app.example"], "https://app.example", ["ftp://app.example"], [5]])
      expect(() => resolveHostConfig({ ...minimal, server: { corsOrigins } as never })).toThrow(/server\.corsOrigins/);
  });
});
