import type Database from "better-sqlite3";
import { StoreDeploymentError } from "../errors.ts";

/**
 * A SQLite database that `host migrate-store` copied into PostgreSQL carries a mark in its meta
 * table: where it went (the URL without its password) and when. A node refuses to open a marked
 * file, so a stale SQLite node with the same key cannot serve and prove next to the PostgreSQL
 * processes (both would serve and bill the same signed requests).
 */
export type MigrationMark = { to: string; at: string };

const keys = { to: "migratedTo", at: "migratedAt" } as const;

/** The mark, when the database was migrated. */
export function readMigrationMark(db: Database.Database): MigrationMark | undefined {
  const read = db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?");
  const to = read.get(keys.to)?.value;
  return to === undefined ? undefined : { to, at: read.get(keys.at)?.value ?? "an unknown time" };
}

/** Marks the database as migrated (one transaction). */
export function writeMigrationMark(db: Database.Database, mark: MigrationMark): void {
  const write = db.prepare<[string, string]>("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
  db.transaction(() => {
    write.run(keys.to, mark.to);
    write.run(keys.at, mark.at);
  })();
}

/** Removes the mark (a deliberate roll-back); true when there was one. */
export function clearMigrationMark(db: Database.Database): boolean {
  return db.prepare(`DELETE FROM meta WHERE key IN ('${keys.to}', '${keys.at}')`).run().changes > 0;
}

/** Why a node does not open a migrated file. */
export function migratedError(path: string, mark: MigrationMark): StoreDeploymentError {
  return new StoreDeploymentError(
    `${path} was migrated to ${mark.to} at ${mark.at}: a node on it would serve and bill the same requests as the PostgreSQL processes`,
    `set store = "${mark.to}" (with its password) and remove dbPath; to roll back deliberately, stop every process on PostgreSQL first and run \`session-jobs host migrate-store --reopen-sqlite\` (docs/host-guide.md)`,
  );
}
