import { readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { getAddress, isAddress, isHex, type Address, type Hex, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ConfigError } from "./errors.ts";
import { decryptKeystore } from "./keystore.ts";
import { parseTomlSubset } from "./toml.ts";

/** Where inference runs: the embedded model, or any OpenAI-compatible server. */
export type BackendConfig =
  | { type: "embedded"; modelPath?: string; threads?: number }
  | { type: "upstream"; url: string; model: string; apiKey?: string };

/** When and how proofs go on chain. */
export type BatchPolicy = {
  /** Most sessions in one `submitProofsBatch` transaction. */
  maxJobs: number;
  /** How long a due proof waits for others to join its batch, in milliseconds. */
  delayMs: number;
  /** Submit a session's signed tokens below one interval once it has been idle this long (seconds). */
  idleFlushSeconds: number;
  /** Submit everything signed once a session is this close to its `maxDuration` end (seconds). */
  deadlineMarginSeconds: number;
};

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
  server: { host: string; port: number; maxBodyBytes: number };
  batch: BatchPolicy;
  limits: {
    /** `max_tokens` used when a request names none. */
    defaultMaxTokens: number;
    /** Highest `max_tokens` accepted. */
    maxTokens: number;
    /** How long a session's on-chain state is trusted before it is read again (milliseconds). */
    sessionCacheMs: number;
    /** Tokens added per message to a prompt's size estimate, for the chat template. */
    promptTokensPerMessage: number;
    /**
     * Bytes of requests and answers a session may have served without a receipt (kept for
     * `POST /v1/session/sync`); new work is refused past it, as past one checkpoint interval.
     */
    maxUnsignedBytes: number;
  };
  chain: { pollingIntervalMs: number; receiptTimeoutMs: number };
};

/** The file (JSON or TOML) and programmatic shape of the configuration, before validation. */
export type HostConfigInput = {
  rpcUrl?: string;
  chainId?: number;
  /** Prefer the environment (`SESSION_JOBS_HOST_PRIVATE_KEY`) or a keystore over a key in a file. */
  privateKey?: string;
  keystore?: { path: string; password?: string; passwordFile?: string };
  /** Path to a deployments JSON (the output of `deploySessionJobs`); `contracts` overrides it. */
  deployments?: string;
  contracts?: Partial<Record<"jobMarketplace" | "nodeRegistry" | "modelRegistry" | "hostEarnings", string>>;
  backend?: { type?: string; url?: string; model?: string; apiKey?: string; modelPath?: string; threads?: number };
  models?: string[];
  pricing?: { minPricePerToken?: string | number; minPricePerTokenNative?: string | number };
  publicUrl?: string;
  metadata?: string | Record<string, unknown>;
  dbPath?: string;
  server?: Partial<HostConfig["server"]>;
  batch?: Partial<BatchPolicy>;
  limits?: Partial<HostConfig["limits"]>;
  chain?: Partial<HostConfig["chain"]>;
};

/** Environment variables read by {@link loadHostConfig}; they override the file. */
export const hostConfigEnv = {
  config: "SESSION_JOBS_HOST_CONFIG",
  rpcUrl: "SESSION_JOBS_RPC_URL",
  chainId: "SESSION_JOBS_CHAIN_ID",
  privateKey: "SESSION_JOBS_HOST_PRIVATE_KEY",
  keystore: "SESSION_JOBS_HOST_KEYSTORE",
  keystorePassword: "SESSION_JOBS_HOST_KEYSTORE_PASSWORD",
  keystorePasswordFile: "SESSION_JOBS_HOST_KEYSTORE_PASSWORD_FILE",
  deployments: "SESSION_JOBS_DEPLOYMENTS",
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
  listen: "SESSION_JOBS_HOST_LISTEN",
  port: "SESSION_JOBS_HOST_PORT",
} as const;

export type LoadHostConfigParameters = {
  /** Config file (`.json` or `.toml`); default `$SESSION_JOBS_HOST_CONFIG`, or none. */
  path?: string;
  env?: NodeJS.ProcessEnv;
  /** Applied last, e.g. from command-line flags. */
  overrides?: HostConfigInput;
};

/** Reads the config file and environment, then validates them into a {@link HostConfig}. */
export function loadHostConfig(parameters: LoadHostConfigParameters = {}): HostConfig {
  const env = parameters.env ?? process.env;
  const path = parameters.path ?? env[hostConfigEnv.config];
  const fromFile = path ? readConfigFile(path) : {};
  const baseDir = path ? dirname(resolve(path)) : process.cwd();
  return resolveHostConfig(merge(merge(fromFile, inputFromEnv(env)), parameters.overrides ?? {}), { baseDir });
}

function readConfigFile(path: string): HostConfigInput {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError([`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  try {
    return (extname(path) === ".toml" ? parseTomlSubset(text) : JSON.parse(text)) as HostConfigInput;
  } catch (error) {
    throw new ConfigError([`config file ${path} is malformed: ${(error as Error).message}`]);
  }
}

function inputFromEnv(env: NodeJS.ProcessEnv): HostConfigInput {
  const read = (name: string) => (env[name] === undefined || env[name] === "" ? undefined : env[name]);
  const input: HostConfigInput = {};
  const rpcUrl = read(hostConfigEnv.rpcUrl);
  if (rpcUrl) input.rpcUrl = rpcUrl;
  const chainId = read(hostConfigEnv.chainId);
  if (chainId) input.chainId = Number(chainId);
  const privateKey = read(hostConfigEnv.privateKey);
  if (privateKey) input.privateKey = privateKey;
  const keystore = read(hostConfigEnv.keystore);
  const password = read(hostConfigEnv.keystorePassword);
  const passwordFile = read(hostConfigEnv.keystorePasswordFile);
  // A password alone completes a keystore named in the file.
  if (keystore || password || passwordFile)
    input.keystore = { ...(keystore && { path: keystore }), ...(password && { password }), ...(passwordFile && { passwordFile }) } as NonNullable<HostConfigInput["keystore"]>;
  const deployments = read(hostConfigEnv.deployments);
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
  if (models) input.models = models.split(",").map((model) => model.trim()).filter(Boolean);
  const minPrice = read(hostConfigEnv.minPricePerToken);
  const minPriceNative = read(hostConfigEnv.minPricePerTokenNative);
  if (minPrice || minPriceNative) input.pricing = { ...(minPrice && { minPricePerToken: minPrice }), ...(minPriceNative && { minPricePerTokenNative: minPriceNative }) };
  const publicUrl = read(hostConfigEnv.publicUrl);
  if (publicUrl) input.publicUrl = publicUrl;
  const dbPath = read(hostConfigEnv.dbPath);
  if (dbPath) input.dbPath = dbPath;
  const listen = read(hostConfigEnv.listen);
  const port = read(hostConfigEnv.port);
  if (listen || port) input.server = { ...(listen && { host: listen }), ...(port && { port: Number(port) }) };
  return input;
}

function merge(base: HostConfigInput, over: HostConfigInput): HostConfigInput {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const previous = result[key];
    result[key] =
      isPlainObject(previous) && isPlainObject(value) && key !== "metadata" ? { ...previous, ...value } : value;
  }
  return result as HostConfigInput;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Validates a configuration object. Relative paths resolve against `baseDir` (the config file's
 * folder). Collects every problem into one {@link ConfigError}; messages never echo a key.
 */
export function resolveHostConfig(input: HostConfigInput, options: { baseDir?: string } = {}): HostConfig {
  const baseDir = options.baseDir ?? process.cwd();
  const issues: string[] = [];
  const fail = (issue: string) => {
    issues.push(issue);
    return undefined;
  };

  const rpcUrl = typeof input.rpcUrl === "string" && /^(https?|wss?):\/\/./.test(input.rpcUrl) ? input.rpcUrl : fail("rpcUrl: required, an http(s) or ws(s) URL");

  let chainId = optionalInteger(input.chainId, "chainId", issues, { min: 1 });

  const account = resolveAccount(input, baseDir, issues);

  let fromDeployments: Record<string, unknown> = {};
  if (input.deployments !== undefined) {
    const path = resolve(baseDir, input.deployments);
    try {
      const parsed = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      fromDeployments = isPlainObject(parsed.contracts) ? { ...parsed, ...parsed.contracts } : parsed;
      if (chainId === undefined && typeof fromDeployments.chainId === "number") chainId = fromDeployments.chainId;
      else if (chainId !== undefined && typeof fromDeployments.chainId === "number" && fromDeployments.chainId !== chainId)
        fail(`deployments: ${path} is for chain ${fromDeployments.chainId}, config says chain ${chainId}`);
    } catch (error) {
      fail(`deployments: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  const address = (name: "jobMarketplace" | "nodeRegistry" | "modelRegistry" | "hostEarnings", required: boolean): Address | undefined => {
    const value = input.contracts?.[name] ?? fromDeployments[name];
    if (value === undefined) return required ? fail(`contracts.${name}: required (or give a deployments file)`) : undefined;
    if (typeof value !== "string" || !isAddress(value, { strict: false })) return fail(`contracts.${name}: not an address: ${String(value)}`);
    return getAddress(value);
  };
  const jobMarketplace = address("jobMarketplace", true);
  const nodeRegistry = address("nodeRegistry", true);
  const modelRegistry = address("modelRegistry", false);
  const hostEarnings = address("hostEarnings", false);

  const backend = resolveBackend(input.backend, baseDir, issues);

  const models: Hex[] = [];
  if (!Array.isArray(input.models) || input.models.length === 0) fail("models: required, the on-chain model ids (bytes32 hex) this node serves");
  else
    for (const model of input.models) {
      if (typeof model === "string" && isHex(model) && model.length === 66) models.push(model.toLowerCase() as Hex);
      else fail(`models: not a bytes32 model id: ${String(model)}`);
    }

  const minPricePerToken = optionalBigint(input.pricing?.minPricePerToken, "pricing.minPricePerToken", issues);
  if (minPricePerToken === undefined) fail("pricing.minPricePerToken: required, in the payment token's base units per token (100..100000)");
  else if (minPricePerToken < 100n || minPricePerToken > 100_000n) fail(`pricing.minPricePerToken: ${minPricePerToken} is outside 100..100000`);
  const minPricePerTokenNative = optionalBigint(input.pricing?.minPricePerTokenNative, "pricing.minPricePerTokenNative", issues);

  const publicUrl = input.publicUrl === undefined ? undefined : /^https?:\/\/./.test(input.publicUrl) ? input.publicUrl : fail("publicUrl: must be an http(s) URL");
  const metadata = typeof input.metadata === "string" ? input.metadata : JSON.stringify(input.metadata ?? {});

  const dbPath = input.dbPath === undefined ? resolve(baseDir, "session-jobs-host.sqlite") : input.dbPath === ":memory:" ? ":memory:" : resolve(baseDir, input.dbPath);

  const server = {
    host: typeof input.server?.host === "string" ? input.server.host : "127.0.0.1",
    port: optionalInteger(input.server?.port, "server.port", issues, { min: 0, max: 65535 }) ?? 8080,
    maxBodyBytes: optionalInteger(input.server?.maxBodyBytes, "server.maxBodyBytes", issues, { min: 1024 }) ?? 1024 * 1024,
  };
  const batch: BatchPolicy = {
    maxJobs: optionalInteger(input.batch?.maxJobs, "batch.maxJobs", issues, { min: 1, max: 500 }) ?? 50,
    delayMs: optionalInteger(input.batch?.delayMs, "batch.delayMs", issues, { min: 0 }) ?? 2_000,
    idleFlushSeconds: optionalInteger(input.batch?.idleFlushSeconds, "batch.idleFlushSeconds", issues, { min: 1 }) ?? 3_600,
    deadlineMarginSeconds: optionalInteger(input.batch?.deadlineMarginSeconds, "batch.deadlineMarginSeconds", issues, { min: 0 }) ?? 600,
  };
  const limits = {
    defaultMaxTokens: optionalInteger(input.limits?.defaultMaxTokens, "limits.defaultMaxTokens", issues, { min: 1 }) ?? 256,
    maxTokens: optionalInteger(input.limits?.maxTokens, "limits.maxTokens", issues, { min: 1 }) ?? 4_096,
    sessionCacheMs: optionalInteger(input.limits?.sessionCacheMs, "limits.sessionCacheMs", issues, { min: 0 }) ?? 5_000,
    promptTokensPerMessage: optionalInteger(input.limits?.promptTokensPerMessage, "limits.promptTokensPerMessage", issues, { min: 0 }) ?? 8,
    maxUnsignedBytes: optionalInteger(input.limits?.maxUnsignedBytes, "limits.maxUnsignedBytes", issues, { min: 1024 }) ?? 8 * 1024 * 1024,
  };
  if (limits.defaultMaxTokens > limits.maxTokens) fail("limits.defaultMaxTokens: larger than limits.maxTokens");
  const chain = {
    pollingIntervalMs: optionalInteger(input.chain?.pollingIntervalMs, "chain.pollingIntervalMs", issues, { min: 10 }) ?? 1_000,
    receiptTimeoutMs: optionalInteger(input.chain?.receiptTimeoutMs, "chain.receiptTimeoutMs", issues, { min: 1_000 }) ?? 120_000,
  };

  if (issues.length > 0) throw new ConfigError(issues);
  return {
    rpcUrl: rpcUrl!,
    chainId,
    account: account!,
    contracts: { jobMarketplace: jobMarketplace!, nodeRegistry: nodeRegistry!, ...(modelRegistry && { modelRegistry }), ...(hostEarnings && { hostEarnings }) },
    backend: backend!,
    models,
    pricing: { minPricePerToken: minPricePerToken!, ...(minPricePerTokenNative !== undefined && { minPricePerTokenNative }) },
    publicUrl,
    metadata,
    dbPath,
    server,
    batch,
    limits,
    chain,
  };
}

function resolveAccount(input: HostConfigInput, baseDir: string, issues: string[]): LocalAccount | undefined {
  const keystore = input.keystore?.path === undefined ? undefined : input.keystore;
  if (input.privateKey !== undefined && keystore !== undefined) {
    issues.push("host key: give either privateKey or keystore, not both");
    return undefined;
  }
  if (input.privateKey !== undefined) {
    const key = input.privateKey.startsWith("0x") ? input.privateKey : `0x${input.privateKey}`;
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
      issues.push("privateKey: must be 32 bytes of hex (value not shown)");
      return undefined;
    }
    return privateKeyToAccount(key as Hex);
  }
  if (keystore !== undefined) {
    const path = resolve(baseDir, keystore.path);
    try {
      const password = keystore.password ?? (keystore.passwordFile !== undefined ? readFileSync(resolve(baseDir, keystore.passwordFile), "utf8").replace(/\r?\n$/, "") : undefined);
      if (password === undefined) {
        issues.push(`keystore: no password (set ${hostConfigEnv.keystorePassword} or keystore.passwordFile)`);
        return undefined;
      }
      return privateKeyToAccount(decryptKeystore(readFileSync(path, "utf8"), password));
    } catch (error) {
      issues.push(`keystore ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      return undefined;
    }
  }
  issues.push(`host key: required (${hostConfigEnv.privateKey}, or ${hostConfigEnv.keystore} with a password)`);
  return undefined;
}

function resolveBackend(input: HostConfigInput["backend"], baseDir: string, issues: string[]): BackendConfig | undefined {
  const type = input?.type ?? (input?.url ? "upstream" : "embedded");
  if (type === "embedded") {
    const threads = optionalInteger(input?.threads, "backend.threads", issues, { min: 1 });
    return { type, ...(input?.modelPath !== undefined && { modelPath: resolve(baseDir, input.modelPath) }), ...(threads !== undefined && { threads }) };
  }
  if (type === "upstream") {
    if (typeof input?.url !== "string" || !/^https?:\/\/./.test(input.url)) {
      issues.push("backend.url: required for an upstream backend, an http(s) URL of an OpenAI-compatible server");
      return undefined;
    }
    if (typeof input.model !== "string" || input.model === "") {
      issues.push("backend.model: required for an upstream backend, the model name the server knows");
      return undefined;
    }
    return { type, url: input.url, model: input.model, ...(input.apiKey !== undefined && { apiKey: input.apiKey }) };
  }
  issues.push(`backend.type: "${type}" is neither "embedded" nor "upstream"`);
  return undefined;
}

function optionalInteger(value: unknown, name: string, issues: string[], bounds: { min?: number; max?: number }): number | undefined {
  if (value === undefined) return undefined;
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number) || (bounds.min !== undefined && number < bounds.min) || (bounds.max !== undefined && number > bounds.max)) {
    const range = `${bounds.min ?? "…"}..${bounds.max ?? "…"}`;
    issues.push(`${name}: must be an integer in ${range}, got ${JSON.stringify(value)}`);
    return undefined;
  }
  return number;
}

function optionalBigint(value: unknown, name: string, issues: string[]): bigint | undefined {
  if (value === undefined) return undefined;
  if ((typeof value === "number" && Number.isSafeInteger(value) && value > 0) || (typeof value === "string" && /^[1-9]\d*$/.test(value))) return BigInt(value);
  issues.push(`${name}: must be a positive integer, got ${JSON.stringify(value)}`);
  return undefined;
}

/** The configuration as it may be logged or shown: no key, no API key. */
export function describeHostConfig(config: HostConfig): Record<string, unknown> {
  const { account, backend, ...rest } = config;
  return {
    ...rest,
    host: account.address,
    backend: backend.type === "upstream" ? { type: backend.type, url: backend.url, model: backend.model, apiKey: backend.apiKey ? "(set)" : undefined } : backend,
    pricing: { minPricePerToken: String(config.pricing.minPricePerToken), minPricePerTokenNative: config.pricing.minPricePerTokenNative?.toString() },
  };
}
