/**
 * The floor of a relay on this machine: a bare `node:http` server that forwards each chat request
 * to the upstream over keep-alive connections and writes each chunk of the answer as it arrives
 * (one `res.write` per upstream read, no parsing, no session, no accounting), pausing the upstream
 * while the client is behind. `bench/relay.bench.ts` reads it with the same direct client at each
 * level and prints its CPU per 1,000 tokens beside the host's. In a process of its own, like the host:
 *
 *   node --conditions=@session-jobs/source --import tsx bench/passThroughRelay.ts --upstream http://127.0.0.1:PORT/v1
 */
import { Agent, createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { announceAndServe, spawnBenchProcess, type BenchProcess } from "./benchProcess.ts";

export type PassThroughRelay = { baseUrl: string; close: () => Promise<void> };

/** Serves `upstreamBaseUrl`'s API (e.g. `http://127.0.0.1:8000/v1`) at the returned `baseUrl`, bytes passed through. */
export async function startPassThroughRelay(upstreamBaseUrl: string): Promise<PassThroughRelay> {
  const upstream = new URL(upstreamBaseUrl);
  const agent = new Agent({ keepAlive: true });
  const server = createServer((request, response) => {
    const forwarded = httpRequest({
      host: upstream.hostname,
      port: upstream.port,
      method: request.method,
      path: request.url,
      headers: { "content-type": request.headers["content-type"] ?? "application/json", accept: request.headers.accept ?? "*/*" },
      agent,
    });
    forwarded.once("response", (answer) => {
      response.writeHead(answer.statusCode ?? 502, { "content-type": answer.headers["content-type"] ?? "application/octet-stream" });
      answer.on("data", (chunk: Buffer) => {
        if (!response.write(chunk)) {
          answer.pause();
          response.once("drain", () => answer.resume());
        }
      });
      answer.once("end", () => response.end());
    });
    forwarded.once("error", () => response.destroy());
    response.once("close", () => forwarded.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}${upstream.pathname.replace(/\/+$/, "")}`,
    close: async () => {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Starts this file as a child process in front of `upstreamBaseUrl` and resolves once it listens. */
export async function spawnPassThroughRelay(upstreamBaseUrl: string, nodeArgs: readonly string[] = []): Promise<BenchProcess<{ baseUrl: string }>> {
  return spawnBenchProcess(fileURLToPath(import.meta.url), ["--upstream", upstreamBaseUrl], nodeArgs);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { upstream: { type: "string" } } });
  if (!values.upstream) throw new Error("--upstream <base URL> is required");
  const relay = await startPassThroughRelay(values.upstream);
  announceAndServe({ baseUrl: relay.baseUrl }, relay.close);
}
