/**
 * The dashboard the node serves at /dashboard/: safe static serving against hostile paths, the
 * deployment JSON it hands the page, and that nothing the page can read carries a secret.
 */
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anvilPrivateKeys } from "@session-jobs/contracts/anvil";
import { createCommon } from "../common.ts";
import { createDashboardRoutes, dashboardRoutes, type DashboardDeployment } from "./dashboard.ts";
import { createHostNode, type HostNode } from "../node.ts";
import { createHttpServer, type HttpServer } from "./server.ts";
import { loadStaticSite, StaticSiteError } from "./staticSite.ts";
import { rawRequest } from "../testUtils/rawRequest.ts";
import { createTestBackend } from "../testUtils/testBackend.ts";
import { startTestChain, type TestChain } from "../testUtils/testChain.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

const get = (base: string, path: string, method = "GET") => rawRequest(base, { path, method });

const secret = "TOP-SECRET-CONTENT";
const root = tempDir("dashboard-");
const dist = join(root, "dist");
mkdirSync(join(dist, "assets"), { recursive: true });
writeFileSync(join(dist, "index.html"), "<!doctype html><title>dashboard</title>");
writeFileSync(join(dist, "assets", "index-abc123.js"), "console.log(1)");
writeFileSync(join(root, "secret.txt"), secret);
// A link inside the build pointing out of it must not be followed.
symlinkSync(join(root, "secret.txt"), join(dist, "assets", "link.txt"));

const address = (n: number) => `0x${String(n).repeat(40)}` as const;
const deployment: DashboardDeployment = {
  chainId: 31337,
  rpcUrl: "http://127.0.0.1:8545",
  jobMarketplace: address(1),
  nodeRegistry: address(2),
  modelRegistry: address(3),
  hostEarnings: address(4),
  deployedAtBlock: "0",
  host: address(5),
};

let server: HttpServer;
let base: string;
beforeAll(async () => {
  server = createHttpServer({
    common: createCommon({ logLevel: "silent" }),
    host: "127.0.0.1",
    port: 0,
    routes: createDashboardRoutes({ site: loadStaticSite(dist), deployment }),
  });
  base = await server.listen();
});
afterAll(() => server.close({ graceMs: 100 }));

describe("the dashboard's static files", () => {
  it("serves the app under /dashboard/ with its types, caching and security headers", async () => {
    const page = await get(base, "/dashboard/");
    expect(page.status).toBe(200);
    expect(page.body).toContain("<title>dashboard</title>");
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["cache-control"]).toBe("no-cache");
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(page.headers["content-security-policy"]).toContain("connect-src 'self' http://127.0.0.1:8545");
    expect(page.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    const asset = await get(base, "/dashboard/assets/index-abc123.js");
    expect(asset.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(asset.headers["cache-control"]).toContain("immutable");
    const json = await get(base, "/dashboard/deployment.json?x=1");
    expect(JSON.parse(json.body)).toEqual(deployment);
    expect(json.headers["cache-control"]).toBe("no-store");
    const bare = await get(base, "/dashboard");
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe("/dashboard/");
  });

  it("never serves anything outside the build, whatever the path's encoding", async () => {
    const hostile = [
      "/dashboard/../../etc/passwd",
      "/dashboard/../secret.txt",
      "/dashboard/assets/../../secret.txt",
      "/dashboard/%2e%2e/secret.txt",
      "/dashboard/%2e%2e%2fsecret.txt",
      "/dashboard/..%2f..%2f..%2fetc%2fpasswd",
      "/dashboard/%252e%252e/secret.txt",
      "/dashboard/..%5csecret.txt",
      "/dashboard/assets/..%5c..%5csecret.txt",
      "/dashboard//etc/passwd",
      "/dashboard/%2fetc%2fpasswd",
      "/dashboard/index.html%00.js",
      "/dashboard/assets/link.txt",
      "/dashboard/./index.html",
      "/dashboard/%c0%ae%c0%ae/secret.txt",
    ];
    for (const path of hostile) {
      const answer = await get(base, path);
      expect([400, 404], path).toContain(answer.status);
      expect(answer.body, path).not.toContain(secret);
      expect(answer.body, path).not.toContain("root:");
      expect(answer.headers["content-type"], path).toContain("application/json");
    }
  });

  it("lists no directory, answers malformed and huge paths in one line, and serves GET only", async () => {
    for (const path of ["/dashboard/assets", "/dashboard/assets/", "/dashboard/.", "/dashboardx"]) expect((await get(base, path)).status, path).toBe(404);
    expect((await get(base, "/dashboard/%E0%A4%A")).status).toBe(400);
    const long = await get(base, `/dashboard/${"a".repeat(2_000)}`);
    expect(long.status).toBe(414);
    expect(JSON.parse(long.body).error.code).toBe("invalid_request");
    // Past Node's header limit the parser refuses it before any route runs.
    expect((await get(base, `/dashboard/${"a/".repeat(40_000)}`)).status).toBe(431);
    expect((await get(base, "/dashboard/", "POST")).status).toBe(405);
    // Still serving after all of it.
    expect((await get(base, "/dashboard/")).status).toBe(200);
  });

  it("refuses a folder that is not a built app, at start", () => {
    expect(() => loadStaticSite(join(root, "missing"))).toThrow(StaticSiteError);
    expect(() => loadStaticSite(join(dist, "assets"))).toThrow(/no index.html/);
  });
});

describe("the dashboard is off, with one warning, when", () => {
  const warnings: string[] = [];
  const logger = { warn: (message: string) => warnings.push(message) } as never;
  const config = (overrides: Record<string, unknown>) =>
    ({
      rpcUrl: "https://base-sepolia.example/v2/KEY",
      contracts: { jobMarketplace: address(1), nodeRegistry: address(2) },
      account: { address: address(5) },
      dashboard: { dir: dist, fromBlock: 0 },
      ...overrides,
    }) as never;
  const chain = { publicClient: {} as never, chainId: 84532 };

  it("the node's RPC is not on this machine and no dashboard.rpcUrl is given (its URL may hold a key)", async () => {
    expect(await dashboardRoutes({ config: config({}), chain, logger })).toEqual([]);
    expect(warnings.pop()).toMatch(/dashboard\.rpcUrl/);
  });

  it("the chain does not answer the address reads", async () => {
    const silent = { publicClient: { readContract: () => Promise.reject(new Error("no answer")) } as never, chainId: 31337 };
    expect(await dashboardRoutes({ config: config({ rpcUrl: "http://127.0.0.1:8545" }), chain: silent, logger })).toEqual([]);
    expect(warnings.pop()).toMatch(/could not be read from the chain/);
  });

  it("the app is not built", async () => {
    expect(
      await dashboardRoutes({ config: config({ rpcUrl: "http://127.0.0.1:8545", dashboard: { dir: join(root, "missing"), fromBlock: 0 } }), chain, logger }),
    ).toEqual([]);
    expect(warnings.pop()).toMatch(/dashboard off: cannot read/);
  });
});

describe("a node's dashboard on chain", () => {
  let chain: TestChain;
  let node: HostNode;
  const apiKey = "sk-UPSTREAM-SECRET-KEY";
  const rpcSecret = "RPC-SECRET-TOKEN";

  beforeAll(async () => {
    chain = await startTestChain();
    const config = chain.hostConfig({
      dbPath: ":memory:",
      // The node's own RPC carries a credential; browsers get the public one.
      rpcUrl: `${chain.anvil.rpcUrl}/?key=${rpcSecret}`,
      backend: { type: "upstream", url: "http://127.0.0.1:9/v1", model: "m", apiKey },
      dashboard: { dir: dist, rpcUrl: "https://public-rpc.example" },
    });
    node = createHostNode({ common: createCommon({ logLevel: "silent" }), config, backend: createTestBackend(), shutdownGraceMs: 100 });
    await node.start();
  }, 60_000);
  afterAll(async () => {
    await node?.stop({ proofTimeoutMs: 0 });
    await chain?.stop();
  });

  // This chain accepts ETH only, so no usdc; not on chain 31337 with a public RPC, so no dev wallet.
  it("hands the page public facts only: addresses read from chain, the public RPC, this host", async () => {
    expect(node.dashboardUrl).toBe(`${node.url}/dashboard/`);
    const served = JSON.parse((await get(node.url, "/dashboard/deployment.json")).body) as Record<string, unknown>;
    expect(served).toEqual({
      chainId: 31337,
      rpcUrl: "https://public-rpc.example",
      jobMarketplace: chain.contracts.jobMarketplace,
      nodeRegistry: chain.contracts.nodeRegistry,
      modelRegistry: chain.contracts.modelRegistry,
      hostEarnings: chain.contracts.hostEarnings,
      deployedAtBlock: "0",
      host: privateKeyToAccount(anvilPrivateKeys[1]).address,
    });
  });

  it("lets nothing the page can read carry the key, the RPC credential or the backend's API key", async () => {
    const hostKey = anvilPrivateKeys[1].slice(2).toLowerCase();
    for (const path of [
      "/dashboard/",
      "/dashboard/deployment.json",
      "/v1/host",
      "/ready",
      "/health",
      "/v1/models",
      "/v1/session/1",
      "/metrics",
      "/dashboard/../ready",
    ]) {
      const { body } = await get(node.url, path);
      expect(body.toLowerCase(), path).not.toContain(hostKey);
      expect(body, path).not.toContain(rpcSecret);
      expect(body, path).not.toContain(apiKey);
      expect(body, path).not.toContain("9/v1");
    }
  });
});
