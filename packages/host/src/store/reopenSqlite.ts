import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import type pg from "pg";
import { connectClient } from "./connectClient.ts";
import { clearMigrationMark, readMigrationMark, type MigrationMark } from "./migrationMark.ts";
import { hostConnections, servedSince, type ServedSince } from "./rollbackCheck.ts";
import { lockDatabase } from "./sqliteStore.ts";
import { withoutPassword } from "./storeUrl.ts";

/**
 * Why a roll-back was refused, the mark left in place: `serving`, a host process is still on
 * PostgreSQL; `served`, PostgreSQL holds what the file does not (`since`); `unreachable`, it could
 * not be checked (`cause`: the driver's error); `url`, the mark's URL hides a password and none
 * (or another database's URL) was given; `stopped`, the signal stopped the check.
 */
export class RollbackRefusedError extends Error {
  override readonly name = "RollbackRefusedError";
  constructor(
    readonly reason: "serving" | "served" | "unreachable" | "url" | "stopped",
    message: string,
    readonly details: { to: string; connections?: number; since?: ServedSince; cause?: unknown },
  ) {
    super(message, details.cause === undefined ? {} : { cause: details.cause });
  }
}

/** The mark taken off, and whether PostgreSQL was checked (false only when `unchecked` let an unreachable one pass). */
export type ReopenedSqlite = MigrationMark & { checked: boolean };

/**
 * Takes the migration mark off a SQLite file, so that a node opens it again: a deliberate
 * roll-back. Refused while a node holds the file, and, the file locked meanwhile, unless the
 * PostgreSQL database it was migrated to (`url`, with its password; else the mark's) shows that
 * the roll-back loses nothing: no host process connected to it, and no session that went on past
 * the file's (every request served there after the migration, every receipt, would be lost: the
 * clients could not go on, and their signed tokens not yet proven would be refunded to them).
 * A PostgreSQL that cannot be reached is refused too, unless `unchecked` (the operator knows it
 * never served). Returns the mark taken off, if there was one.
 */
export async function reopenMigratedSqlite(parameters: {
  path: string;
  url?: string | undefined;
  unchecked?: boolean;
  signal?: AbortSignal | undefined;
  connectTimeoutMs?: number;
}): Promise<ReopenedSqlite | undefined> {
  const { path } = parameters;
  // Before the lock, whose sidecar file a mistyped path would leave behind.
  if (!existsSync(path)) throw new Error(`there is no SQLite database at ${path}`);
  const lock = lockDatabase(path);
  try {
    const db = new Database(path, { fileMustExist: true });
    try {
      const mark = readMigrationMark(db);
      if (!mark) return undefined;
      const checked = await checkPostgres(db, mark, parameters);
      clearMigrationMark(db);
      return { ...mark, checked };
    } finally {
      db.close();
    }
  } finally {
    lock?.close();
  }
}

/** Refuses (a {@link RollbackRefusedError}) unless PostgreSQL shows nothing would be lost; false when it was not reached and `unchecked` let that pass. */
async function checkPostgres(
  db: Database.Database,
  mark: MigrationMark,
  parameters: { url?: string | undefined; unchecked?: boolean; signal?: AbortSignal | undefined; connectTimeoutMs?: number },
): Promise<boolean> {
  const { to } = mark;
  const url = parameters.url ?? to;
  if (parameters.url !== undefined && withoutPassword(parameters.url) !== to)
    throw new RollbackRefusedError("url", `the file was migrated to ${to}, not to ${withoutPassword(parameters.url)}`, { to });
  if (parameters.url === undefined && to.includes("***"))
    throw new RollbackRefusedError("url", `the file was migrated to ${to}, whose password the mark does not keep`, { to });
  let client: pg.Client;
  try {
    client = await connectClient({
      url,
      applicationName: "session-jobs roll-back check",
      connectTimeoutMs: parameters.connectTimeoutMs ?? 10_000,
      signal: parameters.signal,
      stopped: () => new RollbackRefusedError("stopped", "the roll-back was stopped: the file is still marked as migrated", { to }),
    });
  } catch (error) {
    if (error instanceof RollbackRefusedError) throw error;
    if (parameters.unchecked) return false;
    throw new RollbackRefusedError("unreachable", `cannot check ${to} before rolling back: ${(error as Error).message}`, { to, cause: error });
  }
  try {
    const connections = await hostConnections(client);
    if (connections > 0)
      throw new RollbackRefusedError("serving", `host processes are still connected to ${to} (${connections} connections)`, { to, connections });
    const since = await servedSince(db, client);
    if (since.sessions > 0 || since.transactions > 0)
      throw new RollbackRefusedError(
        "served",
        `${to} served past this file: ${since.sessions} sessions went on (${since.unprovenTokens} signed tokens not yet proven would be refunded to their users), ${since.transactions} transactions were recorded`,
        { to, since },
      );
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}
