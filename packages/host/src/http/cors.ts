import type { IncomingMessage, ServerResponse } from "node:http";
import { sessionHeaders } from "@session-jobs/protocol";

/** Request headers a browser may send to the host: the session protocol's plus the usual ones. */
const allowedRequestHeaders = ["content-type", "authorization", ...Object.values(sessionHeaders)].join(", ");
/**
 * Response headers a browser's script may read: `retry-after` for a refusal as closing, and
 * `content-encoding`, which the SDK reads to tell a compressed answer cut short (by a proxy in front) from a host's garbage.
 */
const exposedResponseHeaders = [...Object.values(sessionHeaders), "retry-after", "content-encoding"].join(", ");

/** Whether `value` is `*` or a bare origin (`scheme://host[:port]`, no path), as `server.corsOrigins` takes. */
export function isCorsOrigin(value: string): boolean {
  if (value === "*") return true;
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === value;
  } catch {
    return false;
  }
}

/**
 * CORS for browsers (a web app on another origin talks to the host): `origins` are the allowed
 * origins, `*` for any. Sets the answer's CORS headers and answers a preflight itself; returns
 * true when it did, so the router does nothing more. With no origins, it sets nothing and a
 * browser on another origin cannot read the host's answers, as before.
 */
export function createCorsHandler(origins: readonly string[]): (request: IncomingMessage, response: ServerResponse) => boolean {
  const any = origins.includes("*");
  const allowed = new Set(origins);
  return (request, response) => {
    if (origins.length === 0) return false;
    const origin = request.headers.origin;
    const permitted = origin !== undefined && (any || allowed.has(origin));
    if (permitted) {
      response.setHeader("access-control-allow-origin", any ? "*" : origin);
      response.setHeader("access-control-expose-headers", exposedResponseHeaders);
    }
    if (!any) response.setHeader("vary", "Origin");
    const preflight = request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined;
    if (!preflight) return false;
    request.resume();
    if (permitted) {
      response.setHeader("access-control-allow-methods", "GET, POST");
      response.setHeader("access-control-allow-headers", allowedRequestHeaders);
      response.setHeader("access-control-max-age", "600");
    }
    // A refused origin gets the same 204 without allow headers: the browser then blocks the request.
    response.writeHead(204, { "content-length": "0" });
    response.end();
    return true;
  };
}
