import type Database from "better-sqlite3";
import type pg from "pg";
import { hostApplicationPrefix } from "./postgresConnection.ts";

/**
 * Connections of host processes on the database `client` is connected to: any that holds an
 * advisory lock there (the proof leader holds its lock as long as it runs; the others hold session
 * and chain-writer locks while they work) or that names itself a host's. Both are read from the
 * server's views, which every user may read; nothing is taken, so a process starting meanwhile is
 * not disturbed.
 */
export async function hostConnections(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(DISTINCT pid)::int AS n FROM (
       SELECT pid FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       UNION
       SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE $1
     ) AS holders WHERE pid <> pg_backend_pid()`,
    [`${hostApplicationPrefix}%`],
  );
  return rows[0]!.n;
}

/** What PostgreSQL recorded that the SQLite file does not hold. */
export type ServedSince = {
  /** Sessions whose requests, served tokens or receipts went on past the file's (or that the file lacks). */
  sessions: number;
  /** Tokens the clients signed for on PostgreSQL, not yet proven on chain, that the file has no receipt for: the pay a roll-back loses. */
  unprovenTokens: bigint;
  /** Transactions recorded after the file's newest. */
  transactions: number;
};

type SessionPosition = { job_id: string; last_sequence: string; served_tokens: string; signed_tokens: string; proven_tokens: string };
const positionColumns = "job_id, last_sequence, served_tokens, signed_tokens, proven_tokens";

/**
 * Compares each session's position in PostgreSQL (last sequence, served, signed and proven tokens)
 * with the file's. Whatever moved on was served by the PostgreSQL processes after the migration
 * (the copy held exactly the file's), and a node on the file would not know it: it would refuse the
 * clients' requests and could prove only up to its own receipts, refunding the rest to the users.
 */
export async function servedSince(sqlite: Database.Database, client: pg.ClientBase): Promise<ServedSince> {
  const file = new Map(
    sqlite
      .prepare<[], SessionPosition>(`SELECT ${positionColumns} FROM sessions`)
      .all()
      .map((row) => [row.job_id, row]),
  );
  const { rows } = await client.query<SessionPosition>(
    `SELECT job_id::text, last_sequence::text, served_tokens::text, signed_tokens::text, proven_tokens::text FROM sessions`,
  );
  let sessions = 0;
  let unprovenTokens = 0n;
  for (const served of rows) {
    const kept = file.get(served.job_id);
    const fields = ["last_sequence", "served_tokens", "signed_tokens", "proven_tokens"] as const;
    if (kept && fields.every((field) => BigInt(served[field]) <= BigInt(kept[field]))) continue;
    sessions++;
    const floor = [BigInt(served.proven_tokens), BigInt(kept?.signed_tokens ?? 0)].reduce((a, b) => (a > b ? a : b));
    if (BigInt(served.signed_tokens) > floor) unprovenTokens += BigInt(served.signed_tokens) - floor;
  }
  const newest = sqlite.prepare<[], { id: number | null }>("SELECT max(id) AS id FROM submissions").get()!.id ?? 0;
  const later = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM submissions WHERE id > $1", [newest]);
  return { sessions, unprovenTokens, transactions: later.rows[0]!.n };
}
