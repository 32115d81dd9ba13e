/**
 * pg's own messages for a connection that is gone or never came, which carry no SQLSTATE or
 * operating-system code: "Connection terminated unexpectedly", "Client has encountered a
 * connection error and is not queryable", "timeout exceeded when trying to connect", and a query
 * given up on after the store's query timeout, "Query read timeout" (a partition mid-query).
 */
const lostConnection = /connection terminated|terminating connection|not queryable|timeout exceeded when trying to connect|query read timeout/i;

/** Node's codes for a connection that could not be made or is gone, beside the plain `E…` system errors. */
const nodeConnectionCodes = new Set(["EAI_AGAIN", "ERR_STREAM_DESTROYED", "ERR_SOCKET_CLOSED"]);

/**
 * Whether a PostgreSQL call failed because of the server or the way to it, not the request: SQLSTATE
 * classes 08 (connection), 53 (resources) and 57 (operator intervention), the operating system's
 * errors (ENOENT: the server's socket gone while it restarts, ECONNREFUSED, a DNS EAI_AGAIN, …), pg's messages for a
 * lost connection, or a failure on a connection that reported its own death meanwhile. Anything
 * else (a constraint, a bug of ours such as a TypeError) is not retried as an outage.
 */
export function isServerFault(error: unknown, connectionBroken = false): boolean {
  if (connectionBroken) return true;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") return /^(08|53|57)/.test(code) || /^E[A-Z]+$/.test(code) || nodeConnectionCodes.has(code);
  // Only a code-less error is judged by its message: "unterminated quoted string" (42601) is ours.
  return error instanceof Error && lostConnection.test(error.message);
}
