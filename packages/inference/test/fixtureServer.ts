import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type RecordedRequest = { path: string; headers: IncomingMessage["headers"]; body: unknown };
export type Route = (request: RecordedRequest, response: ServerResponse, attempt: number) => void | Promise<void>;

/** Reads a fixture from test/fixtures. */
export function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
}

/**
 * A local HTTP server whose first path segment picks a route (`/<route>/v1/chat/completions`);
 * it records every request and counts attempts per route.
 */
export async function startFixtureServer(routes: Record<string, Route>) {
  const requests: RecordedRequest[] = [];
  const attempts = new Map<string, number>();
  const sockets = new Set<import("node:net").Socket>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = req.url ?? "";
    const routeName = path.split("/")[1] ?? "";
    const recorded = { path, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "null") };
    requests.push(recorded);
    const attempt = (attempts.get(routeName) ?? 0) + 1;
    attempts.set(routeName, attempt);
    const route = routes[routeName];
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    await route(recorded, res, attempt);
  };
  // A request the fixture cannot handle (a body that is not JSON, a route that throws) ends its connection.
  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: (route: string) => `http://127.0.0.1:${port}/${route}/v1`,
    requests,
    attempts: (route: string) => attempts.get(route) ?? 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Streams `body` as an event stream in pieces of `pieceSize` bytes, yielding to the event loop between them. */
export async function sendEventStream(response: ServerResponse, body: string, pieceSize = 29): Promise<void> {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const bytes = Buffer.from(body, "utf8");
  for (let at = 0; at < bytes.length; at += pieceSize) {
    response.write(bytes.subarray(at, at + pieceSize));
    await new Promise((resolve) => setImmediate(resolve));
  }
  response.end();
}
