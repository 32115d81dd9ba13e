import { existsSync } from "node:fs";
import { resolve } from "node:path";
import {
  ConfigError,
  hostConfigEnv,
  loadHostConfig,
  loadHostStoreConfig,
  type HostConfig,
  type HostConfigInput,
  type HostStoreConfig,
} from "@session-jobs/host";
import type { Command, OptionValues } from "./command.ts";
import type { Common } from "./common.ts";
import type { SessionJobsDeployment } from "@session-jobs/contracts/deploy";
import { connectToRpc, loadDeployment, type ChainConnection } from "./connection.ts";
import { CliError } from "./errors.ts";

/** The config file `host init` writes and the other `host` commands read when none is named. */
export const defaultHostConfigPath = "host.toml";

/** Options of every `host` command: the node's config file, and the connection flags that override it. */
export const hostConfigOptions = {
  config: {
    type: "string",
    description: `host config file (TOML, or JSON: .toml/.json, else by its content; default ./${defaultHostConfigPath} if it exists)`,
    env: hostConfigEnv.config,
  },
  "rpc-url": { type: "string", description: "JSON-RPC endpoint, overrides the config", env: "SESSION_JOBS_RPC_URL" },
  deployment: { type: "string", description: "deployment JSON written by `session-jobs deploy`, overrides the config", env: hostConfigEnv.deployments },
} as const satisfies Command["options"];

/**
 * Loads the host's configuration (file, then `SESSION_JOBS_HOST_*` environment, then flags). The
 * host key comes from the config's own key handling (`SESSION_JOBS_HOST_PRIVATE_KEY` or a keystore).
 */
export function loadHostConfigFromOptions(common: Pick<Common, "env" | "logger">, values: OptionValues, overrides: HostConfigInput = {}): HostConfig {
  const flags: HostConfigInput = { ...overrides };
  if (typeof values["rpc-url"] === "string") flags.rpcUrl = values["rpc-url"];
  // A path from a flag or the environment is relative to the current folder, as for client commands.
  if (typeof values.deployment === "string") flags.deployments = resolve(values.deployment);
  return asCliConfigError(values, () => loadHostConfig({ path: hostConfigPath(values), env: common.env, overrides: flags, warn: common.logger.warn }));
}

/** Where the host's store lives (`dbPath` or `store`), from the same file and environment, without the host key. */
export function loadHostStoreConfigFromOptions(common: Pick<Common, "env" | "logger">, values: OptionValues): HostStoreConfig {
  return asCliConfigError(values, () => loadHostStoreConfig({ path: hostConfigPath(values), env: common.env, warn: common.logger.warn }));
}

function asCliConfigError<T>(values: OptionValues, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CliError(
        `invalid host configuration: ${error.issues.join("; ")}`,
        hostConfigPath(values) === undefined
          ? `no config file (./${defaultHostConfigPath}, --config or ${hostConfigEnv.config}): \`session-jobs host init\` writes one`
          : "the keys are explained in the file `session-jobs host init` writes, and in packages/host/README.md",
      );
    throw error;
  }
}

/** `--config` (or its variable), else `./host.toml` when it exists. */
export function hostConfigPath(values: OptionValues): string | undefined {
  if (typeof values.config === "string") return values.config;
  return existsSync(defaultHostConfigPath) ? defaultHostConfigPath : undefined;
}

/** The deployment's USDC for a host command (`usdc` in `--asset`/`--assets`), when `--deployment` names a file. */
export function hostDeploymentUsdc(values: OptionValues): Pick<SessionJobsDeployment, "usdc"> {
  return typeof values.deployment === "string" ? loadDeployment(values.deployment) : { usdc: undefined };
}

/** Connects to the host config's RPC, checking its chain id when the config names one. */
export async function connectHostChain(common: Common, config: HostConfig): Promise<ChainConnection> {
  const connection = await connectToRpc(common, config.rpcUrl);
  if (config.chainId !== undefined && config.chainId !== connection.chainId)
    throw new CliError(`the host config is for chain ${config.chainId}, but ${config.rpcUrl} serves chain ${connection.chainId}`);
  return connection;
}
