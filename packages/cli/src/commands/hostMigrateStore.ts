import {
  describeStoreUrl,
  HostLockError,
  MigrationAbortedError,
  MigrationMarkError,
  MigrationSourceError,
  migrateStore,
  percentEncodeHint,
  StoreDeploymentError,
  StoreOpenError,
  type MigrationProgress,
} from "@session-jobs/host";
import { requireString, type Command } from "../command.ts";
import type { Common } from "../common.ts";
import { CliError } from "../errors.ts";
import { hostConfigOptions, loadHostStoreConfigFromOptions } from "../hostConfig.ts";
import { reopenSqlite } from "../rollback.ts";
import { storeErrorHint } from "../storeErrors.ts";

/** Rows between two progress lines of one table. */
const progressEvery = 20_000;

export const hostMigrateStoreCommand: Command = {
  path: ["host", "migrate-store"],
  summary: "copy the host's SQLite database (dbPath) into an empty PostgreSQL database, so that several host processes can share it",
  options: {
    ...hostConfigOptions,
    to: {
      type: "string",
      description: "the empty PostgreSQL database, postgres://user:password@host:port/database (with --reopen-sqlite: the one the file was migrated to)",
    },
    "reopen-sqlite": {
      type: "boolean",
      description:
        "roll back: let a node open the migrated SQLite file again; refused while a host process is on PostgreSQL or once PostgreSQL served past the file",
    },
    force: {
      type: "boolean",
      description: "with --reopen-sqlite: roll back though PostgreSQL cannot be reached to check it (only when PostgreSQL never served)",
    },
  },
  async run(common, values) {
    // Only the store's keys are read: the copy needs no host key.
    const config = loadHostStoreConfigFromOptions(common, values);
    if (config.store.kind !== "sqlite")
      throw new CliError(
        "the host config already names a PostgreSQL store",
        values["reopen-sqlite"] === true
          ? "a roll-back runs the node on dbPath again: put dbPath back in the host config (and remove store), then run this again"
          : "migrate-store copies from the SQLite file dbPath: run it with the config the node used before",
      );
    if (values.force === true && values["reopen-sqlite"] !== true)
      throw new CliError("--force goes only with --reopen-sqlite", "a migration has nothing to force: leave --force out");
    if (values["reopen-sqlite"] === true)
      return reopenSqlite(common, config.dbPath, { to: typeof values.to === "string" ? values.to : undefined, force: values.force === true });
    const to = requireString(hostMigrateStoreCommand, values, "to");
    if (!/^postgres(ql)?:\/\/./.test(to)) throw new CliError("--to must be a postgres:// URL", "e.g. --to postgres://host@db.internal/hosts");
    const target = describeStoreUrl(to);
    if (target.misparsed) throw new CliError(`--to does not read as postgres://user:password@host:port/database (shown as ${target.shown})`, percentEncodeHint);
    const migrated = await common.logger.progress(`copying ${config.dbPath} into ${target.shown}`, () =>
      migrateStore({ from: config.dbPath, to, signal: common.signal, onProgress: reportProgress(common) }).catch((error: unknown) => {
        throw asCliError(error, config.dbPath, target.shown);
      }),
    );
    common.logger.result({ from: config.dbPath, to: target.shown, ...migrated });
    common.logger.info(
      `copied ${migrated.sessions} sessions, ${migrated.exchanges} exchanges, ${migrated.receipts} receipts and ${migrated.submissions} transactions`,
    );
    common.logger.info(`${config.dbPath} is marked as migrated: \`host start\` refuses it from now on`);
    common.logger.info(
      `next: set store = "${target.shown}" (with its password) in the host config and remove dbPath (and SESSION_JOBS_HOST_DB from a systemd unit or container), then start the host processes`,
    );
  },
};

/** One line per table when done, and every {@link progressEvery} rows of a large one. */
export function reportProgress(common: Common) {
  // Counted from the last count reported: a batch (up to 500 rows, fewer when large) rarely ends on a round number.
  const reported = new Map<string, number>();
  return ({ table, copied, of }: MigrationProgress) => {
    const last = reported.get(table) ?? 0;
    if (copied === of || Math.floor(copied / progressEvery) > Math.floor(last / progressEvery)) {
      reported.set(table, copied);
      common.logger.lines.write(`  ${table}: ${copied} of ${of} rows\n`);
    }
  };
}

function asCliError(error: unknown, dbPath: string, to: string): unknown {
  const untouched = "the SQLite file is left as it was";
  if (error instanceof HostLockError) return new CliError(error.message, "stop the host node first (host start holds the database)");
  if (error instanceof StoreDeploymentError) return new CliError(`cannot migrate: ${error.message}`, error.hint);
  // The same causes as host start's, told about --to.
  if (error instanceof StoreOpenError) return new CliError(error.message, storeErrorHint(error.cause, "--to"));
  if (error instanceof MigrationAbortedError) return new CliError(error.message, "run the same command again to copy everything");
  if (error instanceof MigrationMarkError)
    return new CliError(
      error.message,
      `PostgreSQL holds the whole copy: switch the config to store, and move ${error.path} away (e.g. to ${error.path}.migrated) so that no node starts on it`,
    );
  if (error instanceof MigrationSourceError)
    return new CliError(
      error.message,
      `dbPath (or SESSION_JOBS_HOST_DB) must name the node's database, readable and writable by this user (under systemd: run as the service's user, e.g. sudo -u session-jobs); PostgreSQL was not touched`,
    );
  const message = (error as Error).message;
  if (/already holds sessions or transactions/.test(message))
    return new CliError(`cannot migrate: ${message}`, `migrate into an empty PostgreSQL database; ${untouched}`);
  return new CliError(`cannot migrate into ${to}: ${message}`, `the PostgreSQL database must be reachable and empty, and ${dbPath} is left as it was`);
}
