import type pg from "pg";

/** How every connection of a host process names itself (then its pid), so that a roll-back can see that one still runs. */
export const hostApplicationPrefix = "session-jobs-host pid=";

/** The server's side: see `postgresTimeouts.server`. */
const server = { keepAliveIdleS: 10, keepAliveIntervalS: 5, keepAliveCount: 3, userTimeoutMs: 25_000 } as const;

/**
 * How long a network fault between a host process and PostgreSQL may last unnoticed, on each side.
 * A partition sends no FIN and no RST: without these bounds a query waits for the kernel's TCP
 * keep-alive (idle 2 hours by default, on both machines), and so does the server before it drops
 * the advisory locks of a holder whose machine vanished.
 *
 * The ordering that makes the proof lock safe: a holder announces the loss of its lock connection
 * (and stops submitting, taking locks, serving) at most `heartbeat.intervalMs + heartbeat.timeoutMs`
 * after the server last heard from it (the heartbeat lease, below), while the server keeps a silent
 * session, and so its locks, at least `serverDropMs` after it last heard from it. The gap between
 * the two, 16 s, is what a stalled event loop or a slow heartbeat may eat before two processes could
 * both believe they lead.
 */
export const postgresTimeouts = {
  /** A query on the lock connection (a lock tried, the heartbeat) that gets no answer within this fails, and so does the connection. */
  heartbeat: { intervalMs: 5_000, timeoutMs: 4_000 },
  /**
   * The server's TCP keep-alive and user timeout for every connection of the store (user-settable
   * GUCs, set at connect): a peer silent for 10 s is probed every 5 s, and its session ended once
   * it has been silent 25 s whether or not the server had data in flight to it (`tcp_user_timeout`,
   * PostgreSQL 12 or later on Linux; without it, data in flight waits for the kernel's retransmission
   * limit, about 15 minutes, and an idle session the 10 + 3 × 5 s of probes).
   */
  server,
  /** The least time the server keeps a silent holder's session (and its locks): the user timeout, or without it the probes. */
  serverDropMs: Math.min(server.userTimeoutMs, (server.keepAliveIdleS + server.keepAliveIntervalS * server.keepAliveCount) * 1_000),
  /**
   * The client's own keep-alive starts probing after 10 s idle (Node sets no interval or count:
   * the system's, 75 s × 9 on Linux): a backstop for a connection with no query running, which
   * the query timeout and the heartbeat bound otherwise.
   */
  clientKeepAliveMs: 10_000,
} as const;

export type HeartbeatTimes = { intervalMs: number; timeoutMs: number };

/** The server-side settings every connection of the store asks for, skipping any the server does not know (an older version). */
const serverSettings: [name: string, value: string][] = [
  ["tcp_keepalives_idle", String(postgresTimeouts.server.keepAliveIdleS)],
  ["tcp_keepalives_interval", String(postgresTimeouts.server.keepAliveIntervalS)],
  ["tcp_keepalives_count", String(postgresTimeouts.server.keepAliveCount)],
  ["tcp_user_timeout", String(postgresTimeouts.server.userTimeoutMs)],
  // Not client_connection_check_interval (PostgreSQL 14): a server on a system without it (macOS) refuses any value but 0.
];
const settingsStatement = `SELECT set_config(wanted.name, wanted.value, false) FROM (VALUES ${serverSettings
  .map(([name, value]) => `('${name}', '${value}')`)
  .join(", ")}) AS wanted (name, value) JOIN pg_settings USING (name)`;

/** Sets this session's server-side keep-alive (on a Unix socket the server ignores them, harmlessly). */
export async function applyServerKeepAlive(client: pg.ClientBase): Promise<void> {
  await client.query(settingsStatement);
}

/** pg's options beside the address for every connection of the store: connect timeout, client keep-alive, and the query timeout when given. */
export function connectionOptions(parameters: { connectTimeoutMs: number; queryTimeoutMs?: number }): pg.ClientConfig {
  return {
    connectionTimeoutMillis: parameters.connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: postgresTimeouts.clientKeepAliveMs,
    ...(parameters.queryTimeoutMs !== undefined && { query_timeout: parameters.queryTimeoutMs }),
  };
}

/** pg's own error for a query given up after its `query_timeout`: the connection is still busy with it, so it is of no further use. */
export function isQueryTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === "Query read timeout";
}
