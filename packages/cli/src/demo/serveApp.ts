import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";
import { appSecurityHeaders } from "@session-jobs/host";

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

export type ServeAppParameters = {
  /** What `deployment.json` answers (chain, RPC, contracts, dev wallet). */
  deployment: Record<string, unknown>;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** The app's static build: `packages/app/dist` in the repository, `web/` in the installed CLI. */
  distDir: string;
};

export type AppServer = { url: string; close: () => Promise<void> };

/**
 * Serves the built app and its `deployment.json`, as any static host would: the same files work
 * on every network, only the deployment JSON differs. Paths never leave `distDir`. Every file
 * carries the host dashboard's security headers (`appSecurityHeaders`).
 */
export async function serveApp(parameters: ServeAppParameters): Promise<AppServer> {
  const { distDir } = parameters;
  if (!existsSync(join(distDir, "index.html")))
    throw new Error(`the web app is not built: no ${join(distDir, "index.html")} (in the repository: npm run build -w packages/app)`);
  const deploymentJson = JSON.stringify(parameters.deployment, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value), 2);
  // The host dashboard's headers; the user's page calls any registered host, on any http(s) origin.
  const security = appSecurityHeaders("http: https:");
  const server = createServer((request, response) => {
    let path: string;
    try {
      path = decodeURIComponent((request.url ?? "/").split("?")[0]!);
    } catch {
      response.writeHead(400, { "content-type": "text/plain" }).end("malformed path");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/deployment.json") {
      response.writeHead(200, { ...security, "content-type": contentTypes[".json"], "cache-control": "no-store" }).end(deploymentJson);
      return;
    }
    const file = normalize(join(distDir, path === "/" ? "index.html" : path));
    if (!file.startsWith(distDir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    response.writeHead(200, { ...security, "content-type": contentTypes[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((done) => server.listen(parameters.port ?? 0, parameters.host ?? "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${parameters.host ?? "127.0.0.1"}:${port}/`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((done) => server.close(() => done()));
    },
  };
}
