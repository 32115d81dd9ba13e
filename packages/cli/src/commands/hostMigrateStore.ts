import { HostLockError, migrateStore, StoreDeploymentError, withoutPassword } from "@session-jobs/host";
import { requireString, type Command } from "../command.ts";
import { CliError } from "../errors.ts";
import { hostConfigOptions, loadHostConfigFromOptions } from "../hostConfig.ts";

export const hostMigrateStoreCommand: Command = {
  path: ["host", "migrate-store"],
  summary: "copy the host's SQLite database (dbPath) into an empty PostgreSQL database, so that several host processes can share it",
  options: {
    ...hostConfigOptions,
    to: { type: "string", description: "the empty PostgreSQL database, postgres://user:password@host:port/database" },
  },
  async run(common, values) {
    const to = requireString(hostMigrateStoreCommand, values, "to");
    if (!/^postgres(ql)?:\/\/./.test(to)) throw new CliError("--to must be a postgres:// URL", "e.g. --to postgres://host@db.internal/hosts");
    const config = loadHostConfigFromOptions(common, values);
    if (config.store.kind !== "sqlite")
      throw new CliError(
        "the host config already names a PostgreSQL store",
        "migrate-store copies from the SQLite file dbPath: run it with the config the node used before",
      );
    const migrated = await common.logger.progress(`copying ${config.dbPath} into ${withoutPassword(to)}`, () =>
      migrateStore({ from: config.dbPath, to }).catch((error: unknown) => {
        if (error instanceof HostLockError) throw new CliError(error.message, "stop the host node first (host start holds the database)");
        if (error instanceof StoreDeploymentError)
          throw new CliError(`cannot migrate: ${error.message}`, "migrate into an empty PostgreSQL database; the SQLite file is left as it was");
        throw new CliError(
          `cannot migrate: ${(error as Error).message}`,
          "the PostgreSQL database must be reachable and empty; the SQLite file is left as it was",
        );
      }),
    );
    common.logger.result({ from: config.dbPath, to: withoutPassword(to), ...migrated });
    common.logger.info(
      `copied ${migrated.sessions} sessions, ${migrated.exchanges} exchanges, ${migrated.receipts} receipts and ${migrated.submissions} transactions`,
    );
    common.logger.info(`next: set store = "${withoutPassword(to)}" in the host config (and remove dbPath), then start the host processes`);
  },
};
