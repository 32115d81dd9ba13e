import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { request, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveApp, type AppServer } from "./serveApp.ts";

let app: AppServer;
const root = mkdtempSync(join(tmpdir(), "serve-app-"));
const dist = join(root, "dist");

beforeAll(async () => {
  mkdirSync(join(dist, "assets"), { recursive: true });
  writeFileSync(join(dist, "index.html"), "<!doctype html><p>app</p>");
  writeFileSync(join(dist, "assets", "a.js"), "console.log(1)");
  writeFileSync(join(root, "secret.txt"), "secret");
  app = await serveApp({ distDir: dist, deployment: { chainId: 31337, deployedAtBlock: 5n, rpcUrl: "http://127.0.0.1:8545" } });
});
afterAll(() => app.close());

/** A raw request, so the path reaches the server exactly as written (no URL normalising). */
function get(path: string, method = "GET"): Promise<{ status: number; body: string; type: string | undefined; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const url = new URL(app.url);
    const req = request({ host: url.hostname, port: url.port, path, method }, (response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, body, type: response.headers["content-type"], headers: response.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("serveApp", () => {
  it("sends the host dashboard's security headers with every file, the page calling itself, the RPC and any http(s) host", async () => {
    for (const path of ["/", "/assets/a.js", "/deployment.json"]) {
      const { headers } = await get(path);
      expect(headers, path).toMatchObject({ "x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer" });
      const csp = headers["content-security-policy"] ?? "";
      for (const directive of ["script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "connect-src 'self' http: https:"])
        expect(csp, path).toContain(directive);
    }
  });

  it("serves the built files and the deployment JSON (bigints as strings)", async () => {
    expect((await get("/")).body).toContain("app");
    expect((await get("/assets/a.js")).type).toContain("text/javascript");
    expect(JSON.parse((await get("/deployment.json")).body)).toEqual({ chainId: 31337, deployedAtBlock: "5", rpcUrl: "http://127.0.0.1:8545" });
  });

  it("never serves a file outside the build, answers a malformed path, refuses other methods", async () => {
    for (const path of ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt", "/..%2fsecret.txt"]) {
      const answer = await get(path);
      expect(answer.status).toBe(404);
      expect(answer.body).not.toContain("secret");
    }
    expect((await get("/%E0%A4%A")).status).toBe(400);
    expect((await get("/", "POST")).status).toBe(405);
    expect((await get("/assets")).status).toBe(404);
  });

  it("names the missing file and says how to build when the app is not built", async () => {
    await expect(serveApp({ distDir: join(root, "missing"), deployment: {} })).rejects.toThrow(
      /the web app is not built: no .*index\.html \(in the repository: npm run build -w packages\/app\)/,
    );
  });
});
