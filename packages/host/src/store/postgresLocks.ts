import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { storageUnavailable } from "../errors.ts";
import type { LockConnection } from "./lockConnection.ts";
import type { Release, StoreLocks } from "./storeTypes.ts";

/** The channel a stored receipt is announced on (`pg_notify`, delivered at commit). */
export const receiptChannel = "session_jobs_receipts";

const sessionLock = (jobId: bigint) => `session-jobs:session:${jobId}`;

/**
 * Cross-process locks as PostgreSQL session-level advisory locks, all held by one dedicated
 * connection of this process: the server drops them when the process dies (kill -9, power cut)
 * or the connection does, so a survivor takes over without a timeout. A lock is tried
 * (`pg_try_advisory_lock`) and tried again after a short back-off, never waited for on the
 * connection, which serves every lock of the process. Keys are 64-bit hashes of a name; a
 * collision only serialises two unrelated holders. A lost connection is re-made
 * ({@link LockConnection}): no lock is taken meanwhile, the proof lead is given up at once and
 * contested again over the new connection, and LISTEN is renewed.
 */
export function createPostgresLocks(parameters: {
  connection: LockConnection;
  /** How often a process that does not lead tries to take the proof lock (fail-over time). */
  leaderRetryMs: number;
}): StoreLocks {
  const { connection } = parameters;
  const tryLock = async (client: pg.Client, name: string): Promise<boolean> => {
    const { rows } = await connection.query<{ locked: boolean }>(client, "SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked", [name]);
    return rows[0]!.locked;
  };
  // Released on the connection that took it: a lock lost with its connection is gone already. Held while that
  // connection is the current one: its loss is announced before the server can give the lock to another (lockConnection.ts).
  const unlock = (client: pg.Client, name: string): Release =>
    Object.assign(() => void connection.query(client, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", [name]).catch(() => undefined), {
      held: () => connection.current() === client,
    });
  /** The lock if it is free now, else `undefined`. */
  const tryTake = async (name: string): Promise<Release | undefined> => {
    const client = connection.current();
    if (!client) throw storageUnavailable(`${connection.lost()}; reconnecting`);
    // The connection may die under the query, before its loss is announced: the same refusal.
    const locked = await tryLock(client, name).catch((error: unknown) => {
      throw storageUnavailable(`the PostgreSQL lock connection failed (${(error as Error).message})`, error);
    });
    return locked ? unlock(client, name) : undefined;
  };
  const take = async (name: string): Promise<Release> => {
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const release = await tryTake(name);
      if (release) return release;
      await sleep(delay);
    }
  };
  const listeners: ((jobId: bigint) => void)[] = [];
  const listen = (client: pg.Client) => {
    client.on("notification", (message) => {
      if (message.channel === receiptChannel && message.payload && /^\d+$/.test(message.payload))
        for (const listener of listeners) listener(BigInt(message.payload));
    });
    void connection.query(client, `LISTEN ${receiptChannel}`).catch(() => undefined);
  };
  let listening = false;
  connection.onRestored((client) => listening && listen(client));

  return {
    shared: true,
    session: (jobId) => take(sessionLock(jobId)),
    trySession: (jobId) => tryTake(sessionLock(jobId)),
    chainWriter: () => take("session-jobs:chain-writer"),
    async leadProofs(onLeader, signal) {
      let lead: AbortController | undefined;
      connection.onLost(() => lead?.abort());
      /** Takes the proof lock if it is free and runs `onLeader`; false when another process holds it or the connection is lost. */
      const contend = async (): Promise<boolean> => {
        const client = connection.current();
        if (!client || signal.aborted) return false;
        const won = await tryLock(client, "session-jobs:proof-leader").catch(() => false);
        // Lost while asking: the lock went with the connection.
        if (!won || connection.current() !== client) return false;
        lead = new AbortController();
        await onLeader(lead.signal);
        return true;
      };
      await contend();
      void (async () => {
        while (!signal.aborted) {
          await sleep(parameters.leaderRetryMs, undefined, { signal }).catch(() => undefined);
          if (lead && !lead.signal.aborted) continue;
          await contend().catch(() => undefined);
        }
      })();
    },
    onReceiptStored(listener) {
      listeners.push(listener);
      if (listening) return;
      listening = true;
      const client = connection.current();
      if (client) listen(client);
    },
  };
}
