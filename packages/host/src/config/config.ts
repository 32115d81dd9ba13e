import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { getAddress, isAddress, type Address, type Hex, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { maxHostAnswerBytes } from "@session-jobs/protocol";
import type { z } from "zod/v4";
import { readConfigFile, type ConfigFile } from "./configFile.ts";
import { hostConfigSchema, parseHostConfigFields, parseStoreFields, sortIssues, type ConfigIssue, type HostConfigFields } from "./configSchema.ts";
import { ConfigError } from "../errors.ts";
import { decryptKeystore } from "./keystore.ts";
import { largestMaxBodyBytes, largestMaxUnsignedBytes, smallestMaxUnsignedBytes, syncAnswerBounds, syncPayloadBytes } from "./syncBounds.ts";
import type { StoreLocation } from "../store/openStore.ts";
import { describeStoreUrl, percentEncodeHint, withoutPassword } from "../store/storeUrl.ts";

/** Where inference runs: the embedded model, or any OpenAI-compatible server. */
export type BackendConfig =
  | { type: "embedded"; modelPath?: string; threads?: number }
  | {
      type: "upstream";
      url: string;
      model: string;
      apiKey?: string;
      /** Ask for usage in every chunk (vLLM's `continuous_usage_stats`): exact counts when a client aborts. */
      continuousUsage?: boolean;
      /** The server's `/tokenize` (vLLM shape) for an aborted prompt's count; `false` for none. Default: beside `/v1`. */
      tokenizeUrl?: string | false;
    };

/** When and how proofs go on chain. */
export type BatchPolicy = HostConfigFields["batch"];

/** The node's validated configuration. Holds the host key as a viem account, never as text. */
export type HostConfig = {
  rpcUrl: string;
  /** Expected chain id; checked against the RPC at start when given. */
  chainId: number | undefined;
  account: LocalAccount;
  contracts: { jobMarketplace: Address; nodeRegistry: Address; modelRegistry?: Address; hostEarnings?: Address };
  backend: BackendConfig;
  /** On-chain model ids (bytes32) this node serves. */
  models: Hex[];
  pricing: { minPricePerToken: bigint; minPricePerTokenNative?: bigint };
  /** The URL clients reach this node at, registered on chain. */
  publicUrl: string | undefined;
  /** Registration metadata (JSON text). */
  metadata: string;
  dbPath: string;
  /** Where the store lives: the SQLite file `dbPath`, or a PostgreSQL database (`store = "postgres://…"`). */
  store: StoreLocation;
  /** Where `host start` keeps the lock that lets one process at a time run this key on this marketplace. */
  lockDir: string;
  server: HostConfigFields["server"];
  batch: BatchPolicy;
  limits: HostConfigFields["limits"];
  chain: HostConfigFields["chain"];
  /** The dashboard at `/dashboard/` (off without `dir`); `dir` is resolved, `fromBlock` filled in. */
  dashboard: { dir?: string; rpcUrl?: string; fromBlock: number };
};

/** The file (JSON or TOML) and programmatic shape of the configuration, before validation. */
export type HostConfigInput = Partial<z.input<typeof hostConfigSchema>>;

/** Environment variables read by {@link loadHostConfig}; they override the file. */
export const hostConfigEnv = {
  config: "SESSION_JOBS_HOST_CONFIG",
  rpcUrl: "SESSION_JOBS_RPC_URL",
  chainId: "SESSION_JOBS_CHAIN_ID",
  privateKey: "SESSION_JOBS_HOST_PRIVATE_KEY",
  keystore: "SESSION_JOBS_HOST_KEYSTORE",
  keystorePassword: "SESSION_JOBS_HOST_KEYSTORE_PASSWORD",
  keystorePasswordFile: "SESSION_JOBS_HOST_KEYSTORE_PASSWORD_FILE",
  deployments: "SESSION_JOBS_DEPLOYMENT",
  jobMarketplace: "SESSION_JOBS_MARKETPLACE",
  nodeRegistry: "SESSION_JOBS_NODE_REGISTRY",
  backend: "SESSION_JOBS_HOST_BACKEND",
  backendModel: "SESSION_JOBS_HOST_BACKEND_MODEL",
  backendApiKey: "SESSION_JOBS_HOST_BACKEND_API_KEY",
  models: "SESSION_JOBS_HOST_MODELS",
  minPricePerToken: "SESSION_JOBS_HOST_MIN_PRICE",
  minPricePerTokenNative: "SESSION_JOBS_HOST_MIN_PRICE_NATIVE",
  publicUrl: "SESSION_JOBS_HOST_PUBLIC_URL",
  dbPath: "SESSION_JOBS_HOST_DB",
  store: "SESSION_JOBS_HOST_STORE",
  lockDir: "SESSION_JOBS_HOST_LOCK_DIR",
  listen: "SESSION_JOBS_HOST_LISTEN",
  port: "SESSION_JOBS_HOST_PORT",
  corsOrigins: "SESSION_JOBS_HOST_CORS_ORIGINS",
  dashboardDir: "SESSION_JOBS_HOST_DASHBOARD_DIR",
  dashboardRpcUrl: "SESSION_JOBS_HOST_DASHBOARD_RPC_URL",
} as const;

/** Old names still read, with a warning: one scheme, `SESSION_JOBS_*` shared, `SESSION_JOBS_HOST_*` for the node. */
const deprecatedEnv: Record<string, string> = { SESSION_JOBS_DEPLOYMENTS: hostConfigEnv.deployments };

export type LoadHostConfigParameters = {
  /** Config file (TOML or JSON: by its extension, else its content); default `$SESSION_JOBS_HOST_CONFIG`, or none. */
  path?: string;
  env?: NodeJS.ProcessEnv;
  /** Applied last, e.g. from command-line flags. */
  overrides?: HostConfigInput;
  /** Told about deprecated settings; default `process.emitWarning`. */
  warn?: (message: string) => void;
};

/** Reads the config file and environment, then validates them into a {@link HostConfig}. */
export function loadHostConfig(parameters: LoadHostConfigParameters = {}): HostConfig {
  const { input, options } = readHostConfigInput(parameters);
  return resolveHostConfig(input, options);
}

/** Where the store lives, the only part of the configuration that `host migrate-store` needs (no host key). */
export type HostStoreConfig = Pick<HostConfig, "dbPath" | "store">;

/** Reads the config file and environment as {@link loadHostConfig} does, validating only the store's keys. */
export function loadHostStoreConfig(parameters: LoadHostConfigParameters = {}): HostStoreConfig {
  const { input, options } = readHostConfigInput(parameters);
  const issues: ConfigIssue[] = [...parseStoreFields(input).issues];
  const store = resolveStore(input, options, (path, message) => {
    issues.push({ path, text: `${path}: ${message}` });
    return undefined;
  });
  if (!store || issues.length > 0) throw new ConfigError(sortIssues(issues).map((issue) => withLine(issue, input, options.file)));
  return store;
}

/** Where each setting may come from, for {@link resolveHostConfig}'s messages. */
export type HostConfigSources = { baseDir?: string; file?: ConfigFile; fromEnv?: HostConfigInput };

function readHostConfigInput(parameters: LoadHostConfigParameters): { input: HostConfigInput; options: HostConfigSources } {
  const env = withDeprecatedNames(parameters.env ?? process.env, parameters.warn ?? ((message) => process.emitWarning(message, "DeprecationWarning")));
  const path = parameters.path ?? env[hostConfigEnv.config];
  const file = path ? readConfigFile(path) : undefined;
  const baseDir = path ? dirname(resolve(path)) : process.cwd();
  const fromEnv = inputFromEnv(env);
  const input = merge(merge(file?.input ?? {}, fromEnv), parameters.overrides ?? {});
  return { input, options: { baseDir, file, fromEnv } };
}

function withDeprecatedNames(env: NodeJS.ProcessEnv, warn: (message: string) => void): NodeJS.ProcessEnv {
  const renamed = Object.entries(deprecatedEnv).filter(([old, current]) => env[old] !== undefined && env[current] === undefined);
  if (renamed.length === 0) return env;
  for (const [old, current] of renamed) warn(`${old} is deprecated: use ${current}`);
  return { ...env, ...Object.fromEntries(renamed.map(([old, current]) => [current, env[old]])) };
}

function inputFromEnv(env: NodeJS.ProcessEnv): HostConfigInput {
  const read = (name: string) => (env[name] === undefined || env[name] === "" ? undefined : env[name]);
  // Paths from the environment, like those from flags and unlike those in the file, are relative to the current folder.
  const readPath = (name: string) => {
    const value = read(name);
    return value === undefined || value === ":memory:" ? value : resolve(value);
  };
  const input: HostConfigInput = {};
  const rpcUrl = read(hostConfigEnv.rpcUrl);
  if (rpcUrl) input.rpcUrl = rpcUrl;
  const chainId = read(hostConfigEnv.chainId);
  if (chainId) input.chainId = chainId;
  const privateKey = read(hostConfigEnv.privateKey);
  if (privateKey) input.privateKey = privateKey;
  const keystore = readPath(hostConfigEnv.keystore);
  const password = read(hostConfigEnv.keystorePassword);
  const passwordFile = readPath(hostConfigEnv.keystorePasswordFile);
  // A password alone completes a keystore named in the file.
  if (keystore || password || passwordFile)
    input.keystore = { ...(keystore && { path: keystore }), ...(password && { password }), ...(passwordFile && { passwordFile }) };
  const deployments = readPath(hostConfigEnv.deployments);
  if (deployments) input.deployments = deployments;
  const jobMarketplace = read(hostConfigEnv.jobMarketplace);
  const nodeRegistry = read(hostConfigEnv.nodeRegistry);
  if (jobMarketplace || nodeRegistry) input.contracts = { ...(jobMarketplace && { jobMarketplace }), ...(nodeRegistry && { nodeRegistry }) };
  const backend = read(hostConfigEnv.backend);
  const backendModel = read(hostConfigEnv.backendModel);
  const backendApiKey = read(hostConfigEnv.backendApiKey);
  if (backend || backendModel || backendApiKey) {
    input.backend = {};
    if (backend === "embedded") input.backend.type = "embedded";
    else if (backend) Object.assign(input.backend, { type: "upstream", url: backend });
    if (backendModel) input.backend.model = backendModel;
    if (backendApiKey) input.backend.apiKey = backendApiKey;
  }
  const models = read(hostConfigEnv.models);
  if (models)
    input.models = models
      .split(",")
      .map((model) => model.trim())
      .filter(Boolean);
  const minPrice = read(hostConfigEnv.minPricePerToken);
  const minPriceNative = read(hostConfigEnv.minPricePerTokenNative);
  if (minPrice || minPriceNative)
    input.pricing = { ...(minPrice && { minPricePerToken: minPrice }), ...(minPriceNative && { minPricePerTokenNative: minPriceNative }) };
  const publicUrl = read(hostConfigEnv.publicUrl);
  if (publicUrl) input.publicUrl = publicUrl;
  const dbPath = readPath(hostConfigEnv.dbPath);
  if (dbPath) input.dbPath = dbPath;
  const store = read(hostConfigEnv.store);
  if (store) input.store = store;
  const lockDir = readPath(hostConfigEnv.lockDir);
  if (lockDir) input.lockDir = lockDir;
  const listen = read(hostConfigEnv.listen);
  const port = read(hostConfigEnv.port);
  const corsOrigins = read(hostConfigEnv.corsOrigins);
  if (listen || port || corsOrigins)
    input.server = {
      ...(listen && { host: listen }),
      ...(port && { port }),
      ...(corsOrigins && {
        corsOrigins: corsOrigins
          .split(",")
          .map((origin) => origin.trim())
          .filter(Boolean),
      }),
    };
  const dashboardDir = readPath(hostConfigEnv.dashboardDir);
  const dashboardRpcUrl = read(hostConfigEnv.dashboardRpcUrl);
  if (dashboardDir || dashboardRpcUrl) input.dashboard = { ...(dashboardDir && { dir: dashboardDir }), ...(dashboardRpcUrl && { rpcUrl: dashboardRpcUrl }) };
  return input;
}

function merge(base: HostConfigInput, over: HostConfigInput): HostConfigInput {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const previous = result[key];
    result[key] = isPlainObject(previous) && isPlainObject(value) && key !== "metadata" ? { ...previous, ...value } : value;
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Validates a configuration object. Relative paths resolve against `baseDir` (the config file's
 * folder). Collects every problem into one {@link ConfigError}, each naming its key (and its line
 * in `file` when the value came from there); messages never echo a key.
 */
export function resolveHostConfig(input: HostConfigInput, options: HostConfigSources = {}): HostConfig {
  const baseDir = options.baseDir ?? process.cwd();
  const parsed = parseHostConfigFields(input);
  const issues: ConfigIssue[] = [...parsed.issues];
  const fail = (path: string, message: string, label = path) => {
    issues.push({ path, text: `${label}: ${message}` });
    return undefined;
  };
  const fields = parsed.fields;
  // Checks across keys run on the raw input too, so that one run reports every problem.
  const account = resolveAccount(input, baseDir, fail);
  const contracts = resolveContracts(input, fields, baseDir, fail);
  const backend = resolveBackend(input.backend, baseDir, fail);
  if (input.pricing?.minPricePerToken === undefined) fail("pricing.minPricePerToken", "required, in the payment token's base units per token (100..100000)");
  if (fields && fields.limits.defaultMaxTokens > fields.limits.maxTokens) fail("limits.defaultMaxTokens", "larger than limits.maxTokens");
  if (fields && fields.server.headersTimeoutMs > fields.server.requestTimeoutMs) fail("server.headersTimeoutMs", "larger than server.requestTimeoutMs");
  const store = resolveStore(input, options, fail);
  if (fields) checkSyncBounds(fields, fail);

  if (issues.length > 0 || !fields || !account || !contracts || !backend || !store)
    throw new ConfigError(sortIssues(issues).map((issue) => withLine(issue, input, options.file)));
  return {
    rpcUrl: fields.rpcUrl,
    chainId: contracts.chainId,
    account,
    contracts: contracts.addresses,
    backend,
    models: fields.models,
    pricing: {
      minPricePerToken: fields.pricing.minPricePerToken!,
      ...(fields.pricing.minPricePerTokenNative !== undefined && { minPricePerTokenNative: fields.pricing.minPricePerTokenNative }),
    },
    publicUrl: fields.publicUrl,
    metadata: typeof fields.metadata === "string" ? fields.metadata : JSON.stringify(fields.metadata ?? {}),
    ...store,
    lockDir: resolve(baseDir, fields.lockDir ?? join(tmpdir(), "session-jobs-host-locks")),
    server: fields.server,
    batch: fields.batch,
    limits: fields.limits,
    chain: fields.chain,
    dashboard: {
      ...(fields.dashboard.dir !== undefined && { dir: resolve(baseDir, fields.dashboard.dir) }),
      ...(fields.dashboard.rpcUrl !== undefined && { rpcUrl: fields.dashboard.rpcUrl }),
      fromBlock: fields.dashboard.fromBlock ?? contracts.deployedAtBlock,
    },
  };
}

type Fail = (path: string, message: string, label?: string) => undefined;

/** One session's sync answer must fit in the sync budget, and under what clients read of it ({@link syncAnswerBounds}). */
function checkSyncBounds(fields: HostConfigFields, fail: Fail): void {
  const { limits, server } = fields;
  const { storedBytes, encodedBytes } = syncAnswerBounds(limits, server.maxBodyBytes);
  if (limits.maxSyncBytesInFlight < storedBytes)
    fail(
      "limits.maxSyncBytesInFlight",
      `smaller than one session's sync answer can hold (2 × limits.maxUnsignedBytes = ${storedBytes}: the exchanges its newest receipt covers and those after it); set at least ${storedBytes}`,
    );
  if (encodedBytes <= syncPayloadBytes) return;
  const largest = largestMaxUnsignedBytes(server.maxBodyBytes);
  fail(
    "limits.maxUnsignedBytes",
    `one session's sync answer could hold ${encodedBytes} bytes of requests and answers (8/3 × (limits.maxUnsignedBytes + server.maxBodyBytes)), over the ${syncPayloadBytes} kept for them of the ${maxHostAnswerBytes} clients read (the rest: each exchange's fields, the last answers, JSON escapes); ${
      largest >= smallestMaxUnsignedBytes ? `set at most ${largest}` : `lower server.maxBodyBytes to at most ${largestMaxBodyBytes()}`
    }`,
  );
}

/**
 * The SQLite file `dbPath` or the PostgreSQL database `store`. A store URL that the driver would
 * read otherwise than written (an unencoded `/`, `#` or `?` in the password) is refused here,
 * before it turns into a connection to some other host; a `dbPath` that the environment sets
 * (`SESSION_JOBS_HOST_DB`, as the systemd unit and the Docker image do) next to `store` is named
 * as coming from there.
 */
function resolveStore(input: HostConfigInput, options: HostConfigSources, fail: Fail): HostStoreConfig | undefined {
  // The caller reports the schema's own issues.
  const parsed = parseStoreFields(input);
  if (typeof input.store === "string" && parsed.issues.every((issue) => issue.path !== "store")) {
    const url = describeStoreUrl(input.store);
    if (url.misparsed) fail("store", `does not read as postgres://user:password@host:port/database (shown as ${url.shown}): ${percentEncodeHint}`);
  }
  if (input.store !== undefined && input.dbPath !== undefined) {
    const fromEnv = (key: "store" | "dbPath") => options.fromEnv?.[key] !== undefined && input[key] === options.fromEnv[key];
    if (fromEnv("dbPath"))
      fail(
        "dbPath",
        `set by ${hostConfigEnv.dbPath} in the environment (the systemd unit's Environment= or the Docker image's ENV set it), and store is set too: unset ${hostConfigEnv.dbPath} for a PostgreSQL store`,
      );
    else if (fromEnv("store"))
      fail(
        "store",
        `set by ${hostConfigEnv.store} in the environment, and dbPath is set too: remove dbPath for a PostgreSQL store, or unset ${hostConfigEnv.store}`,
      );
    else fail("store", "set either store (PostgreSQL) or dbPath (SQLite), not both");
  }
  for (const key of ["storePoolSize", "storeQueryTimeoutMs"] as const)
    if (input[key] !== undefined && input.store === undefined) fail(key, "only for a PostgreSQL store (set store)");
  const fields = parsed.fields;
  if (!fields || (input.store !== undefined && input.dbPath !== undefined)) return undefined;
  const baseDir = options.baseDir ?? process.cwd();
  const dbPath =
    fields.dbPath === undefined ? resolve(baseDir, "session-jobs-host.sqlite") : fields.dbPath === ":memory:" ? ":memory:" : resolve(baseDir, fields.dbPath);
  return {
    dbPath,
    store:
      fields.store === undefined
        ? { kind: "sqlite", path: dbPath }
        : {
            kind: "postgres",
            url: fields.store,
            poolSize: fields.storePoolSize ?? 10,
            ...(fields.storeQueryTimeoutMs !== undefined && { queryTimeoutMs: fields.storeQueryTimeoutMs }),
          },
  };
}

/** Appends " (line N of file)" when the offending value is the one the file set. */
function withLine(issue: ConfigIssue, input: HostConfigInput, file: ConfigFile | undefined): string {
  if (!file) return issue.text;
  const line = file.lineOf(issue.path);
  const fromFile = valueAt(file.input, issue.path);
  if (line === undefined || fromFile === undefined || valueAt(input, issue.path) !== fromFile) return issue.text;
  return `${issue.text} (${basename(file.path)} line ${line})`;
}

function valueAt(root: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((value, key) => (isPlainObject(value) ? value[key] : undefined), root);
}

function resolveContracts(input: HostConfigInput, fields: HostConfigFields | undefined, baseDir: string, fail: Fail) {
  let chainId = fields?.chainId;
  let fromDeployments: Record<string, unknown> = {};
  if (typeof input.deployments === "string") {
    const path = resolve(baseDir, input.deployments);
    try {
      const parsed = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      fromDeployments = isPlainObject(parsed.contracts) ? { ...parsed, ...parsed.contracts } : parsed;
      if (chainId === undefined && typeof fromDeployments.chainId === "number") chainId = fromDeployments.chainId;
      else if (chainId !== undefined && typeof fromDeployments.chainId === "number" && fromDeployments.chainId !== chainId)
        fail("deployments", `${path} is for chain ${fromDeployments.chainId}, config says chain ${chainId}`);
    } catch (error) {
      fail("deployments", `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  const address = (name: "jobMarketplace" | "nodeRegistry" | "modelRegistry" | "hostEarnings", required: boolean): Address | undefined => {
    if (input.contracts?.[name] !== undefined) return fields?.contracts?.[name]; // the schema checked it
    const value = fromDeployments[name];
    if (value === undefined) return required ? fail(`contracts.${name}`, "required (or give a deployments file)") : undefined;
    if (typeof value !== "string" || !isAddress(value, { strict: false })) return fail("deployments", `${name} is not an address: ${JSON.stringify(value)}`);
    return getAddress(value);
  };
  const jobMarketplace = address("jobMarketplace", true);
  const nodeRegistry = address("nodeRegistry", true);
  const modelRegistry = address("modelRegistry", false);
  const hostEarnings = address("hostEarnings", false);
  if (!jobMarketplace || !nodeRegistry) return undefined;
  const deployedAtBlock = /^\d{1,15}$/.test(String(fromDeployments.deployedAtBlock)) ? Number(fromDeployments.deployedAtBlock) : 0;
  return {
    chainId,
    deployedAtBlock,
    addresses: { jobMarketplace, nodeRegistry, ...(modelRegistry && { modelRegistry }), ...(hostEarnings && { hostEarnings }) },
  };
}

function resolveAccount(input: HostConfigInput, baseDir: string, fail: Fail): LocalAccount | undefined {
  const keystore = input.keystore?.path === undefined ? undefined : input.keystore;
  if (input.privateKey !== undefined && keystore !== undefined) return fail("privateKey", "give either privateKey or keystore, not both", "host key");
  if (typeof input.privateKey === "string") {
    const key = input.privateKey.startsWith("0x") ? input.privateKey : `0x${input.privateKey}`;
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) return fail("privateKey", "must be 32 bytes of hex (value not shown)");
    return privateKeyToAccount(key as Hex);
  }
  if (input.privateKey !== undefined) return undefined; // the schema reported its type
  if (keystore !== undefined && typeof keystore.path === "string") {
    const path = resolve(baseDir, keystore.path);
    try {
      const password =
        keystore.password ??
        (keystore.passwordFile !== undefined ? readFileSync(resolve(baseDir, keystore.passwordFile), "utf8").replace(/\r?\n$/, "") : undefined);
      if (password === undefined) return fail("keystore", `no password (set ${hostConfigEnv.keystorePassword} or keystore.passwordFile)`);
      return privateKeyToAccount(decryptKeystore(readFileSync(path, "utf8"), password));
    } catch (error) {
      return fail("keystore.path", `${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return fail("privateKey", `required (${hostConfigEnv.privateKey}, or ${hostConfigEnv.keystore} with a password)`, "host key");
}

function resolveBackend(input: HostConfigInput["backend"], baseDir: string, fail: Fail): BackendConfig | undefined {
  const type = input?.type ?? (input?.url ? "upstream" : "embedded");
  if (type === "embedded") {
    const threads = typeof input?.threads === "number" ? input.threads : undefined;
    return { type, ...(typeof input?.modelPath === "string" && { modelPath: resolve(baseDir, input.modelPath) }), ...(threads !== undefined && { threads }) };
  }
  if (type !== "upstream") return undefined; // the schema reported it
  if (typeof input?.url !== "string") return fail("backend.url", "required for an upstream backend, an http(s) URL of an OpenAI-compatible server");
  if (typeof input.model !== "string" || input.model === "") return fail("backend.model", "required for an upstream backend, the model name the server knows");
  return {
    type,
    url: input.url,
    model: input.model,
    ...(typeof input.apiKey === "string" && { apiKey: input.apiKey }),
    ...(input.continuousUsage === true && { continuousUsage: true }),
    ...(input.tokenizeUrl !== undefined && { tokenizeUrl: input.tokenizeUrl }),
  };
}

/** The configuration as it may be logged or shown: no key, no API key. */
export function describeHostConfig(config: HostConfig): Record<string, unknown> {
  const { account, backend, ...rest } = config;
  return {
    ...rest,
    host: account.address,
    backend:
      backend.type === "upstream" ? { type: backend.type, url: backend.url, model: backend.model, apiKey: backend.apiKey ? "(set)" : undefined } : backend,
    pricing: { minPricePerToken: String(config.pricing.minPricePerToken), minPricePerTokenNative: config.pricing.minPricePerTokenNative?.toString() },
    store: config.store.kind === "postgres" ? { ...config.store, url: withoutPassword(config.store.url) } : config.store,
  };
}
