import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { applyServerKeepAlive, connectionOptions, isQueryTimeout, type HeartbeatTimes } from "./postgresConnection.ts";

/**
 * The one connection that holds a process's PostgreSQL advisory locks (and hears NOTIFY). Losing
 * it loses every lock it held, so the loss is announced at once; then a new connection is made
 * every `retryMs` until the server answers again, and announced. Listeners run in order.
 *
 * A connection that the network silences (a partition: no FIN, no RST) is a loss too, announced
 * by the heartbeat: a `SELECT 1` every `heartbeat.intervalMs`, counted from when the last one was
 * sent, each failing after `heartbeat.timeoutMs` (below the interval, so that one at most is
 * outstanding), as does every query on the connection. So the loss is announced at most interval +
 * timeout after the server last heard from this process: the first heartbeat sent after that is
 * never answered. The server keeps a silent session longer than that (postgresConnection.ts), so
 * this process has given its locks up before another can take them.
 */
export type LockConnection = {
  /** The connection now, or undefined while it is lost. */
  current(): pg.Client | undefined;
  /** Why it is lost, while it is. */
  lost(): string | undefined;
  /** Called once per loss, with why. */
  onLost(listener: (reason: string) => void): void;
  /** Called with each connection made after a loss (LISTEN again, take locks again). */
  onRestored(listener: (client: pg.Client) => void): void;
  /**
   * Runs one query on `client` (the connection when the caller took it). One that fails or times
   * out leaves the server's side unknown (a lock granted after the query gave up, an unlock queued
   * behind it and never sent), so the connection is dropped, which frees on the server every lock
   * it held, and the error is thrown.
   */
  query<T extends pg.QueryResultRow>(client: pg.Client, text: string, values?: unknown[]): Promise<pg.QueryResult<T>>;
  /** Closes the connection and stops re-making it. */
  end(): Promise<void>;
};

export async function openLockConnection(parameters: {
  url: string;
  applicationName: string;
  retryMs: number;
  connectTimeoutMs: number;
  heartbeat: HeartbeatTimes;
}): Promise<LockConnection> {
  const { heartbeat } = parameters;
  if (heartbeat.timeoutMs >= heartbeat.intervalMs) throw new Error("the lock connection's heartbeat timeout must be below its interval");
  let client: pg.Client | undefined;
  let reason: string | undefined;
  let ended = false;
  const lostListeners: ((reason: string) => void)[] = [];
  const restoredListeners: ((client: pg.Client) => void)[] = [];

  const connect = async (): Promise<pg.Client> => {
    const made = new pg.Client({
      connectionString: parameters.url,
      application_name: parameters.applicationName,
      ...connectionOptions({ connectTimeoutMs: parameters.connectTimeoutMs, queryTimeoutMs: heartbeat.timeoutMs }),
    });
    // A client that failed to connect, or one replaced after a loss, reports nothing more.
    made.on("error", (error) => drop(made, `failed (${error.message})`));
    made.on("end", () => drop(made, "closed"));
    try {
      await made.connect();
      await applyServerKeepAlive(made);
    } catch (error) {
      await made.end().catch(() => undefined);
      throw error;
    }
    return made;
  };

  /** Ends a connection; one the network silenced never answers the goodbye, so it is cut after the heartbeat's timeout. */
  async function goodbye(made: pg.Client): Promise<void> {
    const cut = setTimeout(() => made.connection.stream.destroy(), heartbeat.timeoutMs);
    await made.end().catch(() => undefined);
    clearTimeout(cut);
  }

  /** Makes `made` the connection, and checks on it until it is lost. */
  function use(made: pg.Client): void {
    client = made;
    reason = undefined;
    void (async () => {
      while (client === made) {
        const sent = performance.now();
        try {
          await query(made, "SELECT 1");
        } catch {
          return;
        }
        await sleep(Math.max(0, sent + heartbeat.intervalMs - performance.now()), undefined, { ref: false });
      }
    })();
  }

  async function query<T extends pg.QueryResultRow>(made: pg.Client, text: string, values?: unknown[]): Promise<pg.QueryResult<T>> {
    try {
      return await made.query<T>(text, values);
    } catch (error) {
      // A timed-out query leaves the connection busy with it: nothing more would be answered.
      drop(made, isQueryTimeout(error) ? `stopped answering (no answer within ${heartbeat.timeoutMs} ms)` : `failed (${(error as Error).message})`);
      throw error;
    }
  }

  function drop(dropped: pg.Client, why: string): void {
    if (dropped !== client || ended) return;
    client = undefined;
    reason = `the PostgreSQL lock connection ${why}`;
    void goodbye(dropped);
    for (const listener of lostListeners) listener(reason);
    void reconnect();
  }

  async function reconnect(): Promise<void> {
    while (!ended) {
      await sleep(parameters.retryMs, undefined, { ref: false });
      if (ended) return;
      let made: pg.Client;
      try {
        made = await connect();
      } catch {
        continue; // The server is still unreachable: try again.
      }
      if (ended) return void (await goodbye(made));
      use(made);
      for (const listener of restoredListeners) listener(made);
      return;
    }
  }

  use(await connect());
  return {
    current: () => client,
    lost: () => reason,
    onLost: (listener) => void lostListeners.push(listener),
    onRestored: (listener) => void restoredListeners.push(listener),
    query,
    async end() {
      ended = true;
      const last = client;
      client = undefined;
      if (last) await goodbye(last);
    },
  };
}
