import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Common } from "../common.ts";
import { createCorsHandler } from "./cors.ts";
import { defaultServerLimits, type ServerLimits } from "../config/configSchema.ts";
import { connectionCap, createConnectionLimiter } from "./connectionLimits.ts";
import { HostError } from "../errors.ts";
import { sendError } from "./httpIo.ts";

/** A route handler; `params` holds the path's `:name` segments (and `rest` for a path ending in `/*`), decoded once. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse, params: Record<string, string>) => Promise<void> | void;

export type Route = { method: "GET" | "POST"; path: string; handler: RouteHandler };

export type HttpServer = {
  /** `http://host:port` once listening. */
  readonly url: string;
  /** The total connection cap in force: the configured one, lowered to keep the reserved descriptors free. */
  readonly maxConnections: number;
  listen(): Promise<string>;
  /**
   * Stops accepting connections and waits for open responses up to `graceMs`; then calls
   * `onGraceExpired` (abort generations) and closes what is left.
   */
  close(parameters: { graceMs: number; onGraceExpired?: () => void }): Promise<void>;
};

type CompiledRoute = Route & { pattern: RegExp; names: string[] };

/**
 * A node:http server with a small router, per-route metrics and error answers that never carry a
 * stack trace: {@link HostError}s become their JSON and status, anything else a logged 500.
 */
export function createHttpServer(parameters: {
  common: Common;
  host: string;
  port: number;
  routes: Route[];
  /** Origins whose browsers may call the host (`*` for any); none: no CORS headers. */
  corsOrigins?: readonly string[];
  limits?: ServerLimits;
}): HttpServer {
  const { common } = parameters;
  const applyCors = createCorsHandler(parameters.corsOrigins ?? []);
  const limits = parameters.limits ?? defaultServerLimits;
  const maxConnections = connectionCap(limits.maxConnections, limits.reservedFileDescriptors);
  const connections = createConnectionLimiter({ maxConnections, maxConnectionsPerAddress: limits.maxConnectionsPerAddress });
  const routes: CompiledRoute[] = parameters.routes.map((route) => {
    const names: string[] = [];
    const source = route.path.replace(/:([a-zA-Z]+)/g, (_match, name: string) => {
      names.push(name);
      return "([^/]+)";
    });
    // A trailing `/*` takes the rest of the path, slash included, as `rest` ("" for none).
    if (source.endsWith("/*")) return { ...route, pattern: new RegExp(`^${source.slice(0, -2)}(/.*)?$`), names: [...names, "rest"] };
    return { ...route, pattern: new RegExp(`^${source}/?$`), names };
  });
  // A client whose base URL lacks `/v1` (e.g. `http://host:8080` given to the `openai` client) asks for `/chat/completions`.
  // The hint names no URL: the Host header is the client's to write, and the scheme behind a proxy is not the host's to know.
  const missingApiPrefixHint = (path: string) =>
    routes.some((route) => route.pattern.test(`/v1${path}`)) ? "; the base URL is the host's URL followed by /v1" : "";
  let active = 0;
  let idle: (() => void) | undefined;

  const server: Server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node looks for connections past these timeouts every 30 s by default: a header trickle would live 30 s too long.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, limits.headersTimeoutMs / 4)),
    },
    (request, response) => {
      const started = performance.now();
      active += 1;
      let route = "unmatched";
      response.on("close", () => {
        active -= 1;
        common.metrics.httpRequests.inc({ route, status: String(response.statusCode) });
        common.metrics.httpRequestDuration.observe({ route }, (performance.now() - started) / 1000);
        if (active === 0) idle?.();
      });
      if (applyCors(request, response)) {
        route = "preflight";
        return;
      }
      const path = (request.url ?? "/").split("?")[0]!;
      const candidates = routes.filter((candidate) => candidate.pattern.test(path));
      const match = candidates.find((candidate) => candidate.method === request.method);
      if (!match) {
        request.resume();
        sendError(
          response,
          candidates.length > 0
            ? new HostError("method_not_allowed", `${request.method} is not allowed on ${path}`)
            : new HostError("not_found", `no route ${path}${missingApiPrefixHint(path)}`),
        );
        return;
      }
      route = match.path;
      const values = match.pattern.exec(path)!.slice(1);
      Promise.resolve()
        .then(() => match.handler(request, response, Object.fromEntries(match.names.map((name, index) => [name, decodePathSegment(values[index] ?? "")]))))
        .catch((error: unknown) => {
          if (!(error instanceof HostError) || error.status >= 500)
            common.logger[error instanceof HostError ? "warn" : "error"]("request failed", { route, error });
          sendError(response, error);
        });
    },
  );
  // Past either cap a connection is answered 503 at once and closed, before Node parses anything
  // on it: one address cannot take every connection, and all of them cannot take the descriptors
  // the RPC client and the database need.
  server.prependListener("connection", (socket: Socket) => {
    const refused = connections.admit(socket);
    if (refused === "admitted") return;
    common.metrics.connectionsRefused.inc({ reason: refused });
    const error = new HostError(
      "too_many_connections",
      refused === "total" ? "the host holds as many connections as it serves; retry shortly" : "too many connections from your address",
    );
    socket.end(rawHttpError(error, "503 Service Unavailable"));
    socket.destroySoon();
  });
  // Requests too malformed for Node's parser (stray CR or NUL in a header, conflicting
  // Content-Length) never reach the router: answer them in the same JSON error shape.
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || error.code === "ECONNRESET") return socket.destroy();
    if (error.code === "ERR_HTTP_REQUEST_TIMEOUT")
      return socket.end(rawHttpError(new HostError("invalid_request", "the request did not arrive in time", { status: 408 }), "408 Request Timeout"));
    const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
    socket.end(
      rawHttpError(
        new HostError("invalid_request", tooLarge ? "request headers too large" : "malformed HTTP request", { status: tooLarge ? 431 : 400 }),
        tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request",
      ),
    );
  });

  let url = "";
  return {
    get url() {
      return url;
    },
    maxConnections,
    listen() {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(parameters.port, parameters.host, () => {
          server.off("error", reject);
          const address = server.address() as AddressInfo;
          const hostname = address.family === "IPv6" ? `[${address.address}]` : address.address;
          url = `http://${hostname}:${address.port}`;
          resolve(url);
        });
      });
    },
    async close({ graceMs, onGraceExpired }) {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (active > 0) {
        const drained = new Promise<void>((resolve) => (idle = resolve));
        const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref());
        const expired = await Promise.race([drained.then(() => false), timer]);
        if (expired) {
          onGraceExpired?.();
          await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
        }
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * Decodes one `:name` segment of a path. A malformed percent-escape (`%`, `%zz`, an escape of
 * invalid UTF-8) is the client's mistake: a 400, never an exception that escapes the request.
 */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HostError("invalid_request", "the path holds a malformed percent-escape");
  }
}

/** A whole HTTP/1.1 answer carrying `error`'s JSON, for a socket that has no response object. */
function rawHttpError(error: HostError, statusLine: string): string {
  const body = JSON.stringify(error.toJSON());
  return `HTTP/1.1 ${statusLine}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
