import { HostLockError, reopenMigratedSqlite, RollbackRefusedError } from "@session-jobs/host";
import type { Common } from "./common.ts";
import { CliError } from "./errors.ts";
import { storeErrorHint, type StoreSetting } from "./storeErrors.ts";

/**
 * `host migrate-store --reopen-sqlite`: takes the migration mark off dbPath once PostgreSQL shows
 * that nothing would be lost (`to`: its URL with the password, when the mark hides one; `force`:
 * go on when PostgreSQL cannot be reached, for one that never served).
 */
export async function reopenSqlite(common: Common, dbPath: string, options: { to: string | undefined; force: boolean }): Promise<void> {
  let reopened;
  try {
    reopened = await reopenMigratedSqlite({ path: dbPath, url: options.to, unchecked: options.force, signal: common.signal });
  } catch (error) {
    throw asCliError(error, dbPath, options.to === undefined ? "mark" : "--to");
  }
  if (!reopened) return common.logger.info(`${dbPath} is not marked as migrated: nothing to do`);
  if (reopened.checked) common.logger.info(`${reopened.to} has no host process on it and served nothing past ${dbPath}`);
  else
    common.logger.warn(
      `${reopened.to} could not be reached and was not checked (--force): whatever its processes served since ${reopened.at} is lost; keep them stopped for good`,
    );
  common.logger.info(`${dbPath} can be opened by \`host start\` again`);
}

function asCliError(error: unknown, dbPath: string, url: StoreSetting): CliError {
  if (error instanceof HostLockError) return new CliError(error.message, "stop the host node first");
  if (!(error instanceof RollbackRefusedError))
    return new CliError(
      `cannot open ${dbPath}: ${(error as Error).message}`,
      "dbPath (or SESSION_JOBS_HOST_DB) must name the node's database, writable by this user",
    );
  const refused = `cannot roll back: ${error.message}`;
  switch (error.reason) {
    case "serving":
      return new CliError(refused, "stop every host process on PostgreSQL first (on every machine), then run this again");
    case "served":
      return new CliError(
        refused,
        `a node on ${dbPath} would not know it: keep the host on PostgreSQL (store = "${error.details.to}"); roll back only before the PostgreSQL processes served (docs/host-guide.md)`,
      );
    case "unreachable":
      return new CliError(
        refused,
        `${storeErrorHint(error.cause as Error, url)}; only if the PostgreSQL processes never served, add --force to roll back without the check`,
      );
    case "url":
      return new CliError(refused, `give the database it was migrated to, with its password: --to postgres://user:password@host:port/database`);
    case "stopped":
      return new CliError(error.message, "run the same command again");
  }
}
