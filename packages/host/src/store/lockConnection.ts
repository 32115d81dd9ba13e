import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";

/**
 * The one connection that holds a process's PostgreSQL advisory locks (and hears NOTIFY). Losing
 * it loses every lock it held, so the loss is announced at once; then a new connection is made
 * every `retryMs` until the server answers again, and announced. Listeners run in order.
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
  /** Closes the connection and stops re-making it. */
  end(): Promise<void>;
};

export async function openLockConnection(parameters: {
  url: string;
  applicationName: string;
  retryMs: number;
  /** pg's connection options beside the address (connect timeout, TCP keep-alive). */
  connection?: Pick<pg.ClientConfig, "connectionTimeoutMillis" | "keepAlive">;
}): Promise<LockConnection> {
  let client: pg.Client | undefined;
  let reason: string | undefined;
  let ended = false;
  const lostListeners: ((reason: string) => void)[] = [];
  const restoredListeners: ((client: pg.Client) => void)[] = [];

  const connect = async (): Promise<pg.Client> => {
    const made = new pg.Client({ connectionString: parameters.url, application_name: parameters.applicationName, ...parameters.connection });
    // A client that failed to connect, or one replaced after a loss, reports nothing more.
    made.on("error", (error) => drop(made, `failed (${error.message})`));
    made.on("end", () => drop(made, "closed"));
    try {
      await made.connect();
    } catch (error) {
      await made.end().catch(() => undefined);
      throw error;
    }
    return made;
  };

  function drop(dropped: pg.Client, why: string): void {
    if (dropped !== client || ended) return;
    client = undefined;
    reason = `the PostgreSQL lock connection ${why}`;
    void dropped.end().catch(() => undefined);
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
      if (ended) return void (await made.end().catch(() => undefined));
      client = made;
      reason = undefined;
      for (const listener of restoredListeners) listener(made);
      return;
    }
  }

  client = await connect();
  return {
    current: () => client,
    lost: () => reason,
    onLost: (listener) => void lostListeners.push(listener),
    onRestored: (listener) => void restoredListeners.push(listener),
    async end() {
      ended = true;
      const last = client;
      client = undefined;
      await last?.end().catch(() => undefined);
    },
  };
}
