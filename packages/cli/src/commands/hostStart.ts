import {
  acquireHostLock,
  createBackend,
  createCommon,
  createHostNode,
  HostLockError,
  StoreDeploymentError,
  StoreOpenError,
  type StoreLocation,
  type UnprovenReport,
} from "@session-jobs/host";
import type { Command } from "../command.ts";
import { CliError } from "../errors.ts";
import { connectHostChain, hostConfigOptions, loadHostConfigFromOptions } from "../hostConfig.ts";
import { parseIntegerOption } from "../parse.ts";
import { builtWebAppDir } from "../demo/webAppFiles.ts";
import { storeErrorHint } from "../storeErrors.ts";

const logLevels = ["debug", "info", "warn", "error"] as const;
const isLogLevel = (value: unknown): value is (typeof logLevels)[number] => logLevels.includes(value as (typeof logLevels)[number]);

/**
 * Another process holds the key, the database or the port, the database belongs to another
 * deployment (or to the chain before a reset, or was migrated to PostgreSQL), or the PostgreSQL
 * store cannot be used: one line and a hint, as for any bad input.
 */
export function asCliError(error: unknown): unknown {
  if (error instanceof HostLockError || error instanceof StoreDeploymentError) return new CliError(error.message, error.hint);
  if (error instanceof StoreOpenError) return new CliError(error.message, storeErrorHint(error.cause, "store"));
  const listen = error as NodeJS.ErrnoException & { address?: string; port?: number };
  if (listen.code === "EADDRINUSE" && listen.syscall === "listen")
    return new CliError(
      `port ${listen.port} on ${listen.address} is already in use`,
      "another program listens there: give --port (0 picks a free one) or change [server] port in host.toml",
    );
  return error;
}

export const hostStartCommand: Command = {
  path: ["host", "start"],
  summary: "run the host node (OpenAI-compatible API, receipts, proofs) until Ctrl-C or SIGTERM",
  json: false,
  options: {
    ...hostConfigOptions,
    listen: { type: "string", description: "interface to listen on (overrides the config)" },
    port: { type: "string", description: "port to listen on, 0 for any (overrides the config)" },
    "log-level": { type: "string", description: "node log level: debug, info, warn or error (default info)" },
  },
  async run(common, values) {
    const port = typeof values.port === "string" ? Number(parseIntegerOption("port", values.port, { max: 65535n })) : undefined;
    const config = loadHostConfigFromOptions(common, values, {
      ...((typeof values.listen === "string" || port !== undefined) && {
        server: { ...(typeof values.listen === "string" && { host: values.listen }), ...(port !== undefined && { port }) },
      }),
    });
    // The built web app (the repository's, or the one an installed CLI carries) is the dashboard unless the config names another.
    if (config.dashboard.dir === undefined) {
      const dir = await builtWebAppDir();
      if (dir) config.dashboard.dir = dir;
    }
    const logLevel = values["log-level"] ?? (common.debug ? "debug" : "info");
    if (!isLogLevel(logLevel)) throw new CliError(`--log-level: "${String(logLevel)}" is not one of ${logLevels.join(", ")}`);
    // One quick look at the RPC first: the node's own start retries for a long while, which suits a
    // blip in production but not a wrong URL typed a second ago.
    await connectHostChain(common, config);
    // With SQLite, one process per key and marketplace on this machine (and, through the database's
    // own lock, per database). Processes sharing a PostgreSQL store share the key by design: the
    // store's locks let one of them send transactions at a time.
    const lock =
      config.store.kind === "postgres"
        ? undefined
        : await acquireHostLock({ dir: config.lockDir, marketplace: config.contracts.jobMarketplace, host: config.account.address }).catch((error: unknown) => {
            throw asCliError(error);
          });
    const backend = await common.logger.progress(`loading the ${config.backend.type} backend`, () => createBackend(config.backend));
    try {
      const node = createHostNode({ common: createCommon({ logLevel, logDestination: common.logger.lines }), config, backend });
      const url = await common.logger.progress(`starting host ${node.address}`, () => node.start());
      let left: UnprovenReport;
      try {
        common.logger.info(`host ${node.address} serving at ${url} (Ctrl-C or SIGTERM stops it)`);
        if (node.dashboardUrl) {
          const publicDashboard = config.publicUrl === undefined ? "" : ` (public: ${config.publicUrl.replace(/\/+$/, "")}/dashboard/)`;
          common.logger.info(`dashboard: ${node.dashboardUrl}${publicDashboard}; read-only until the host's wallet connects there`);
        }
        if (!common.signal.aborted) await new Promise<void>((resolve) => common.signal.addEventListener("abort", () => resolve(), { once: true }));
      } finally {
        left = await common.logger.progress(
          `stopping: finishing open responses, then proving every signed receipt (up to ${seconds(config.batch.drainTimeoutMs)})`,
          () => node.stop(),
        );
      }
      if (left.tokens === 0) common.logger.info("every signed receipt is proven on chain");
      else common.logger.warn(unprovenWarning(left, config.store));
    } catch (error) {
      throw asCliError(error);
    } finally {
      await backend.close();
      await lock?.release();
    }
    common.logger.info("host stopped");
  },
};

/**
 * What a stopped process leaves unproven, and who proves it: with SQLite the next start on the file;
 * with PostgreSQL the process leading the proofs (this one sent none if it did not lead), another
 * one still running on the store or the next to start.
 */
export function unprovenWarning(left: UnprovenReport, store: StoreLocation): string {
  const tokens = `${left.tokens} signed tokens of ${left.sessions} session(s) are not proven yet`;
  const why = left.timedOut ? "the wait ran out" : "the chain did not take them";
  if (store.kind === "sqlite") return `${tokens} (${why}); they are stored in ${store.path} and the next \`host start\` with this database proves them`;
  if (!left.leading)
    return `${tokens}; this process was not leading the proofs: they are in the PostgreSQL store, and the process leading them proves them (another one still running on it, else the next \`host start\`)`;
  return `${tokens} (${why}); they are in the PostgreSQL store: another host process still running on it takes the proofs over, else the next \`host start\` proves them`;
}

const seconds = (ms: number) => `${Math.ceil(ms / 1000)} s`;
