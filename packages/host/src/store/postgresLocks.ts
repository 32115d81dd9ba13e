import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import type { Release, StoreLocks } from "./storeTypes.ts";

/** The channel a stored receipt is announced on (`pg_notify`, delivered at commit). */
export const receiptChannel = "session_jobs_receipts";

/**
 * Cross-process locks as PostgreSQL session-level advisory locks, all held by one dedicated
 * connection of this process: the server drops them when the process dies (kill -9, power cut),
 * so a survivor takes over without a timeout. A lock is tried (`pg_try_advisory_lock`) and tried
 * again after a short back-off, never waited for on the connection, which serves every lock of the
 * process. Keys are 64-bit hashes of a name; a collision only serialises two unrelated holders.
 */
export function createPostgresLocks(parameters: {
  client: pg.Client;
  /** How often a process that does not lead tries to take the proof lock (fail-over time). */
  leaderRetryMs: number;
  /** Whether the lock connection is gone (then every lock is gone too): stop taking and holding. */
  lost: () => string | undefined;
}): StoreLocks {
  const { client } = parameters;
  const tryLock = async (name: string): Promise<boolean> => {
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked", [name]);
    return rows[0]!.locked;
  };
  const unlock = (name: string) => () => void client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [name]).catch(() => undefined);
  const take = async (name: string): Promise<Release> => {
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const lost = parameters.lost();
      if (lost) throw new Error(lost);
      if (await tryLock(name)) return unlock(name);
      await sleep(delay);
    }
  };
  return {
    shared: true,
    session: (jobId) => take(`session-jobs:session:${jobId}`),
    chainWriter: () => take("session-jobs:chain-writer"),
    async leadProofs(onLeader, signal) {
      const won = () => tryLock("session-jobs:proof-leader").catch(() => false);
      if (await won()) return onLeader();
      void (async () => {
        while (!signal.aborted && !parameters.lost()) {
          await sleep(parameters.leaderRetryMs, undefined, { signal }).catch(() => undefined);
          if (!signal.aborted && (await won())) return onLeader();
        }
      })();
    },
    onReceiptStored(listener) {
      client.on("notification", (message) => {
        if (message.channel === receiptChannel && message.payload && /^\d+$/.test(message.payload)) listener(BigInt(message.payload));
      });
      void client.query(`LISTEN ${receiptChannel}`).catch(() => undefined);
    },
  };
}
