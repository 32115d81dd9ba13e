import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Duplex } from "node:stream";

/** How long the SDK keeps an idle connection at most: Node's default for its global agents. */
const idleConnectionMs = 5_000;
/** Below the host's own idle timeout: a request sent just before the host closes may still reach it as it closes. */
const hostTimeoutMarginMs = 1_000;

/** The host's idle timeout in ms (`Keep-Alive: timeout=N`) of the connection each answer came on. */
const hostIdleTimeouts = new WeakMap<Duplex, number>();

/** A `timeout` parameter of `Keep-Alive`, after a comma or a semicolon, its value quoted or not. */
const timeoutParameter = /(?:^|[,;])\s*timeout\s*=\s*"?(\d+)/gi;

/**
 * Notes the idle timeout the host announced (`Keep-Alive: timeout=N`, wherever `timeout` stands in
 * the header; the shortest where several do, as in two header lines) for the connection `response`
 * came on, for {@link keepSocketAlive} once it is idle.
 */
export function noteHostIdleTimeout(response: IncomingMessage): void {
  const seconds = [...String(response.headers["keep-alive"] ?? "").matchAll(timeoutParameter)].map((match) => Number(match[1]));
  if (seconds.length === 0) hostIdleTimeouts.delete(response.socket);
  else hostIdleTimeouts.set(response.socket, Math.min(...seconds) * 1_000);
}

/**
 * Keeps an idle connection for less than the host keeps it: its `Keep-Alive: timeout` less a
 * second, or less half of it where that is shorter (Node's agents keep none at `timeout=1`, a second
 * less a second: each request to such a host opened a connection). `timeout=0` keeps none.
 */
function keepSocketAlive(this: HttpAgent, socket: Duplex): boolean {
  // Node's own: TCP keep-alive probes, the socket unref'd while idle, its idle timeout set.
  const kept = HttpAgent.prototype.keepSocketAlive.call(this, socket) as unknown as boolean;
  const hostIdleMs = hostIdleTimeouts.get(socket);
  if (hostIdleMs === undefined) return kept;
  if (hostIdleMs === 0) return false;
  const idle = socket as Duplex & { timeout?: number; setTimeout(ms: number): void };
  const idleMs = Math.min(idleConnectionMs, hostIdleMs - Math.min(hostTimeoutMarginMs, hostIdleMs / 2));
  // Set again only where it differs from Node's (at timeout=5, both keep it 4 s): each call re-arms a timer.
  if (idle.timeout !== idleMs) idle.setTimeout(idleMs);
  return true;
}

/** Keep-alive agents of the SDK's own: a connection is reused by the session's next request, and an app's replaced `http.globalAgent` does not change the SDK. */
function keepAliveAgent<T extends HttpAgent>(agent: T): T {
  agent.keepSocketAlive = keepSocketAlive;
  return agent;
}

const agentOptions = { keepAlive: true, timeout: idleConnectionMs };
/** node:http and node:https, each with its pool of connections to hosts. */
export const transports = {
  "http:": { request: httpRequest, agent: keepAliveAgent(new HttpAgent(agentOptions)) },
  "https:": { request: httpsRequest, agent: keepAliveAgent(new HttpsAgent(agentOptions)) },
};
