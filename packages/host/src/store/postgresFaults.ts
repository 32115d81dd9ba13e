/**
 * pg's own messages for a connection that is gone or never came, which carry no SQLSTATE or
 * operating-system code: "Connection terminated unexpectedly", "Client has encountered a
 * connection error and is not queryable", "timeout exceeded when trying to connect".
 */
const lostConnection = /terminat|not queryable|timeout exceeded when trying to connect|ECONN|ETIMEDOUT/i;

/**
 * Whether a PostgreSQL call failed because of the server or the way to it, not the request: SQLSTATE
 * classes 08 (connection), 53 (resources) and 57 (operator intervention), the operating system's
 * errors (ENOENT: the server's socket gone while it restarts, ECONNREFUSED, …), pg's messages for a
 * lost connection, or a failure on a connection that reported its own death meanwhile. Anything
 * else (a constraint, a bug of ours such as a TypeError) is not retried as an outage.
 */
export function isServerFault(error: unknown, connectionBroken = false): boolean {
  if (connectionBroken) return true;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && (/^(08|53|57)/.test(code) || /^E[A-Z]+$/.test(code))) return true;
  return error instanceof Error && lostConnection.test(error.message);
}
