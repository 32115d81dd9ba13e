import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import pg from "pg";
import type { StoreLocation } from "../store/openStore.ts";

/** How far one session's tokens have come, as the node's database records them (cumulative counts). */
export type SessionTokenCounts = {
  jobId: bigint;
  /** Tokens the node served and billed. */
  servedTokens: number;
  /** Tokens covered by the newest receipt the client signed. */
  signedTokens: number;
  /** Tokens the node last saw proven on chain (the chain itself is the authority). */
  provenTokens: number;
};

/**
 * Reads the token counts of the node's open sessions from its database, read-only, so it is safe
 * while the node runs (SQLite WAL). A database that does not exist yet has no sessions.
 *
 * @example
 * for (const counts of readOpenSessionTokens(config.dbPath)) console.log(counts.servedTokens - counts.signedTokens, "unsigned");
 */
export function readOpenSessionTokens(dbPath: string): SessionTokenCounts[] {
  if (dbPath === ":memory:" || !existsSync(dbPath)) return [];
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sessions'").get();
    if (!table) return [];
    const rows = db
      .prepare<[], { job_id: string; served_tokens: number; signed_tokens: number; proven_tokens: number }>(
        "SELECT job_id, served_tokens, signed_tokens, proven_tokens FROM sessions WHERE closed = 0 ORDER BY CAST(job_id AS INTEGER)",
      )
      .all();
    return rows.map((row) => ({
      jobId: BigInt(row.job_id),
      servedTokens: row.served_tokens,
      signedTokens: row.signed_tokens,
      provenTokens: row.proven_tokens,
    }));
  } finally {
    db.close();
  }
}

/**
 * The same from wherever the node's store lives: the SQLite file, or the PostgreSQL database that
 * several host processes share (read in one query; safe while they run).
 */
export async function readStoreSessionTokens(location: StoreLocation): Promise<SessionTokenCounts[]> {
  if (location.kind === "sqlite") return readOpenSessionTokens(location.path);
  const client = new pg.Client({ connectionString: location.url });
  await client.connect();
  try {
    // No table yet: no host process has opened this database.
    const exists = await client.query<{ found: boolean }>("SELECT to_regclass('sessions') IS NOT NULL AS found");
    if (!exists.rows[0]?.found) return [];
    const { rows } = await client.query<{ job_id: string; served_tokens: string; signed_tokens: string; proven_tokens: string }>(
      "SELECT job_id, served_tokens, signed_tokens, proven_tokens FROM sessions WHERE NOT closed ORDER BY job_id",
    );
    return rows.map((row) => ({
      jobId: BigInt(row.job_id),
      servedTokens: Number(row.served_tokens),
      signedTokens: Number(row.signed_tokens),
      provenTokens: Number(row.proven_tokens),
    }));
  } finally {
    await client.end();
  }
}
