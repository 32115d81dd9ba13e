import { getAddress, isAddress, isHex, type Hex } from "viem";
import { z } from "zod/v4";
import { isCorsOrigin } from "../http/cors.ts";
import { smallestMaxUnsignedBytes } from "./syncBounds.ts";

/**
 * The schema of the host's configuration file (and of `HostConfigInput`, its programmatic form).
 * Every table is strict: an unknown key is an error with a suggestion. A new setting is one line
 * in its table: name, validator, default.
 */

/** A value as an error message shows it (JSON, with big integers as digits). */
const show = (value: unknown) => (typeof value === "bigint" ? String(value) : JSON.stringify(value));

/** An integer within bounds; numeric strings (from the environment) are accepted. */
const integer = (min: number, max?: number) =>
  z
    .union([z.number(), z.bigint(), z.string()], { error: (issue) => `must be an integer in ${min}..${max ?? "…"}, got ${show(issue.input)}` })
    .transform((value, ctx) => {
      const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      if (typeof number === "number" && Number.isSafeInteger(number) && number >= min && (max === undefined || number <= max)) return number;
      ctx.issues.push({ code: "custom", input: value, message: `must be an integer in ${min}..${max ?? "…"}, got ${show(value)}` });
      return z.NEVER;
    });

/** A positive integer of any size, as a bigint (prices in wei overflow a double). */
const positiveBigint = (bounds: { min?: bigint; max?: bigint } = {}) =>
  z.union([z.number(), z.bigint(), z.string()], { error: (issue) => `must be a positive integer, got ${show(issue.input)}` }).transform((value, ctx) => {
    const valid = typeof value === "bigint" ? value > 0n : typeof value === "number" ? Number.isSafeInteger(value) && value > 0 : /^[1-9]\d*$/.test(value);
    if (!valid) {
      ctx.issues.push({ code: "custom", input: value, message: `must be a positive integer, got ${show(value)}` });
      return z.NEVER;
    }
    const number = BigInt(value);
    if ((bounds.min !== undefined && number < bounds.min) || (bounds.max !== undefined && number > bounds.max)) {
      ctx.issues.push({ code: "custom", input: value, message: `${number} is outside ${bounds.min ?? "…"}..${bounds.max ?? "…"}` });
      return z.NEVER;
    }
    return number;
  });

const text = z.string({ error: (issue) => `must be a string, got ${typeof issue.input}` });
const url = (pattern: RegExp, message: string) => z.string({ error: message }).regex(pattern, { error: message });
const httpUrl = url(/^https?:\/\/./, "must be an http(s) URL");
/** A string that `accept` maps to a value, or an issue "<reason>: <input>". */
const checked = <T>(reason: string, accept: (value: string) => T | undefined) =>
  z.string({ error: (issue) => `${reason}: ${String(issue.input)}` }).transform((value, ctx) => {
    const result = accept(value);
    if (result !== undefined) return result;
    ctx.issues.push({ code: "custom", input: value, message: `${reason}: ${value}` });
    return z.NEVER;
  });
const address = checked("not an address", (value) => (isAddress(value, { strict: false }) ? getAddress(value) : undefined));
const modelId = checked("not a bytes32 model id", (value) => (isHex(value) && value.length === 66 ? (value.toLowerCase() as Hex) : undefined));

/** An origin whose web pages may call the node from a browser (CORS), or `*` for any. */
const corsOrigin = z.string({ error: (issue) => `must be an origin such as "https://app.example" (or "*"), got ${show(issue.input)}` }).refine(isCorsOrigin, {
  error: (issue) => `${show(issue.input)} is not an origin (scheme://host[:port], no path) or "*"`,
});

export const serverSchema = z.strictObject({
  host: text.default("127.0.0.1"),
  port: integer(0, 65535).default(8080),
  maxBodyBytes: integer(1024).default(1024 * 1024),
  /** Origins whose web pages may call the node from a browser (CORS); default none. */
  corsOrigins: z
    .array(corsOrigin, { error: (issue) => `must be a list of origins such as ["https://app.example"] (or ["*"]), got ${show(issue.input)}` })
    .default([]),
  /** Most open connections in total; lowered at start to leave `reservedFileDescriptors` of `ulimit -n`. */
  maxConnections: integer(1).default(1_024),
  /** Most open connections from one remote address. */
  maxConnectionsPerAddress: integer(1).default(64),
  /** File descriptors kept for the RPC client, the database and the upstream backend. */
  reservedFileDescriptors: integer(0).default(128),
  /** A request's headers must arrive within this long of the connection's start (milliseconds). */
  headersTimeoutMs: integer(100).default(10_000),
  /** A whole request (headers and body) must arrive within this long (milliseconds); at least `headersTimeoutMs`. */
  requestTimeoutMs: integer(100).default(30_000),
  /** An idle keep-alive connection is closed after this long (milliseconds). */
  keepAliveTimeoutMs: integer(100).default(5_000),
  /**
   * A sync answer whose client takes none of its next 64 KiB slice's bytes for this long (milliseconds)
   * is cut off, releasing the sync budget and the session's turn it held.
   */
  writeStallTimeoutMs: integer(100).default(10_000),
});

/** What one client, or all of them together, can hold of the node's connections and time. */
export type ServerLimits = Omit<z.output<typeof serverSchema>, "host" | "port" | "maxBodyBytes" | "corsOrigins">;

/** The server limits of a configuration that names none. */
export const defaultServerLimits: ServerLimits = serverSchema.parse({});

export const batchSchema = z.strictObject({
  /** Most sessions in one `submitProofsBatch` transaction. */
  maxJobs: integer(1, 500).default(50),
  /** How long a due proof waits for others to join its batch, in milliseconds. */
  delayMs: integer(0).default(2_000),
  /** Submit a session's signed tokens below one interval once it has been idle this long (seconds). */
  idleFlushSeconds: integer(1).default(3_600),
  /** Submit everything signed once a session is this close to its `maxDuration` end (seconds). */
  deadlineMarginSeconds: integer(0).default(600),
  /**
   * When stopping (SIGTERM, SIGINT), how long to wait for every signed-but-unproven receipt to be
   * proven before exiting anyway (milliseconds; 0 stops without submitting). A restart proves the rest.
   */
  drainTimeoutMs: integer(0).default(15_000),
});

export const limitsSchema = z.strictObject({
  /** `max_tokens` used when a request names none. */
  defaultMaxTokens: integer(1).default(256),
  /** Highest `max_tokens` accepted. */
  maxTokens: integer(1).default(4_096),
  /**
   * How long a session's on-chain state is trusted past the later of its read and the settlement
   * watcher's last complete round, before it is read again (milliseconds): the bound while the watcher cannot read the chain.
   */
  sessionCacheMs: integer(0).default(5_000),
  /** Tokens added per message to a prompt's size estimate, for the chat template. */
  // At most the SDK's own per-message allowance (32): the bound billed for an aborted prompt no
  // upstream counted must pass every client's count check.
  promptTokensPerMessage: integer(0, 32).default(8),
  /**
   * Bytes of requests and answers a session may have served without a receipt (kept for
   * `POST /v1/session/sync`); new work is refused past it, as past one checkpoint interval. A sync
   * answer holds up to two receipts' worth, base64 for requests on the wire: 8/3 × (this +
   * `server.maxBodyBytes`) must stay within 48 MiB, leaving 16 MiB of the 64 MiB a client reads for
   * each exchange's fields, the last answers and JSON escapes (at most 17 MiB with a 1 MiB body limit).
   */
  maxUnsignedBytes: integer(smallestMaxUnsignedBytes).default(8 * 1024 * 1024),
  /**
   * Bytes of stored exchanges that sync answers being written may hold together, across all
   * sessions; further syncs wait their turn. At least 2 × `maxUnsignedBytes` (one sync lists the
   * exchanges the newest receipt covers and those after it).
   */
  maxSyncBytesInFlight: integer(1024).default(32 * 1024 * 1024),
  /**
   * Largest checkpoint interval (tokens between receipts) this host accepts; `host register`
   * publishes it on chain. The node enforces it too: a session opened with a larger one (before the
   * terms existed, or after the host lowered them) is refused (`session_terms_refused`) before
   * anything is generated, and unsigned tokens are cut off at the smaller of the session's interval
   * and this. The seed's flows use 1000.
   */
  maxCheckpointInterval: integer(100, 1_000_000).default(1000),
  /** Most unsigned tokens carried per session, whatever its interval (none: the interval alone). */
  maxUnsignedTokens: integer(1).optional(),
});

export const chainSchema = z.strictObject({
  pollingIntervalMs: integer(10).default(1_000),
  receiptTimeoutMs: integer(1_000).default(120_000),
});

export const dashboardSchema = z.strictObject({
  /** The built web app (`npm run build -w packages/app`) served at `/dashboard/`; `host start` defaults it to that build when present. */
  dir: text.optional(),
  /**
   * The RPC the dashboard's browsers read the chain from. Default: the node's own `rpcUrl` when it
   * is on this machine (a local chain); otherwise required for a dashboard, because the node's own
   * RPC URL may carry an API key and is never sent to a browser.
   */
  rpcUrl: httpUrl.optional(),
  /** First block of the dashboard's event queries (default: the deployments file's `deployedAtBlock`, else 0). */
  fromBlock: integer(0).optional(),
});

export const hostConfigSchema = z.strictObject({
  rpcUrl: url(/^(https?|wss?):\/\/./, "required, an http(s) or ws(s) URL"),
  /** Expected chain id; checked against the RPC at start when given. */
  chainId: integer(1).optional(),
  /** Prefer the environment (`SESSION_JOBS_HOST_PRIVATE_KEY`) or a keystore over a key in a file. */
  privateKey: z.string({ error: "must be 32 bytes of hex (value not shown)" }).optional(),
  keystore: z.strictObject({ path: text.optional(), password: text.optional(), passwordFile: text.optional() }).optional(),
  /** Path to a deployment JSON (the output of `session-jobs deploy`); `contracts` overrides it. */
  deployments: text.optional(),
  contracts: z
    .strictObject({ jobMarketplace: address.optional(), nodeRegistry: address.optional(), modelRegistry: address.optional(), hostEarnings: address.optional() })
    .optional(),
  backend: z
    .strictObject({
      type: z.enum(["embedded", "upstream"], { error: (issue) => `${JSON.stringify(issue.input)} is neither "embedded" nor "upstream"` }).optional(),
      /** An OpenAI-compatible server's base URL (…/v1). */
      url: httpUrl.optional(),
      /** The model name that server knows. */
      model: text.optional(),
      apiKey: text.optional(),
      modelPath: text.optional(),
      threads: integer(1).optional(),
      /** Ask an upstream for usage in every chunk (vLLM's `continuous_usage_stats`). */
      continuousUsage: z.boolean({ error: "must be true or false" }).optional(),
      /** An upstream's vLLM-style `/tokenize`, for an aborted prompt's count; `false` for none. */
      tokenizeUrl: z.union([httpUrl, z.literal(false)], { error: "must be an http(s) URL, or false" }).optional(),
    })
    .optional(),
  /** On-chain model ids (bytes32) this node serves. */
  models: z
    .array(modelId, { error: "required, the on-chain model ids (bytes32 hex) this node serves" })
    .min(1, { error: "required, the on-chain model ids (bytes32 hex) this node serves" }),
  pricing: z
    .strictObject({
      minPricePerToken: positiveBigint({ min: 100n, max: 100_000n }).optional(),
      minPricePerTokenNative: positiveBigint().optional(),
    })
    .prefault({}),
  /** The URL clients reach this node at, registered on chain. */
  publicUrl: httpUrl.optional(),
  /** Registration metadata (JSON text, or a table). */
  metadata: z.union([z.string(), z.record(z.string(), z.unknown())], { error: "must be a string or a table" }).optional(),
  dbPath: text.optional(),
  /** A PostgreSQL database shared by several host processes, instead of the SQLite file `dbPath`. */
  store: url(
    /^postgres(ql)?:\/\/./,
    "must be a postgres:// URL (several processes share one PostgreSQL database); leave it out for the embedded SQLite file dbPath",
  ).optional(),
  /** Connections each process keeps to PostgreSQL for queries (one more holds its locks). */
  storePoolSize: integer(1, 1000).optional(),
  /** How long a PostgreSQL query may wait for its answer before it fails as a retryable 503 (default 15 s): a network partition mid-query. */
  storeQueryTimeoutMs: integer(1_000, 600_000).optional(),
  /** Where `host start` keeps its per-key lock (default: a folder in the system's temporary directory). */
  lockDir: text.optional(),
  server: serverSchema.prefault({}),
  batch: batchSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  chain: chainSchema.prefault({}),
  dashboard: dashboardSchema.prefault({}),
});

export type HostConfigFields = z.output<typeof hostConfigSchema>;

/** One problem: the dotted key it is about, and the line shown to the operator. */
export type ConfigIssue = { path: string; text: string };

/** Every key the schema knows, dotted, in the order the schema lists them (the order issues are reported in). */
export const knownConfigKeys: string[] = collectKeys(hostConfigSchema, "");

/** Validates `input`, returning the fields or every problem found (unknown keys with a suggestion). */
export function parseHostConfigFields(input: unknown): { fields: HostConfigFields; issues: [] } | { fields: undefined; issues: ConfigIssue[] } {
  return parseWith(hostConfigSchema, input);
}

const storeSchema = hostConfigSchema.pick({ dbPath: true, store: true, storePoolSize: true, storeQueryTimeoutMs: true });

/** The store's keys alone (`dbPath`, `store`, `storePoolSize`, `storeQueryTimeoutMs`), validated; other keys are left to {@link parseHostConfigFields}. */
export function parseStoreFields(
  input: Record<string, unknown>,
): { fields: z.output<typeof storeSchema>; issues: [] } | { fields: undefined; issues: ConfigIssue[] } {
  const { dbPath, store, storePoolSize, storeQueryTimeoutMs } = input;
  return parseWith(storeSchema, { dbPath, store, storePoolSize, storeQueryTimeoutMs });
}

function parseWith<Schema extends z.ZodType>(
  schema: Schema,
  input: unknown,
): { fields: z.output<Schema>; issues: [] } | { fields: undefined; issues: ConfigIssue[] } {
  const result = schema.safeParse(input);
  if (result.success) return { fields: result.data, issues: [] };
  const issues = result.error.issues.flatMap((issue): ConfigIssue[] => {
    const path = issue.path.filter((segment) => typeof segment === "string").join(".");
    if (issue.code === "unrecognized_keys")
      return issue.keys.map((key) => {
        const full = path === "" ? key : `${path}.${key}`;
        return { path: full, text: `${full}: unknown key${suggestKey(full)}` };
      });
    return [{ path, text: `${path}: ${issue.message}` }];
  });
  return { fields: undefined, issues };
}

/** Orders issues as the schema lists their keys, so that a report reads like the file. */
export function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const rank = (path: string) => {
    for (let prefix = path; prefix !== ""; prefix = prefix.slice(0, Math.max(0, prefix.lastIndexOf(".")))) {
      const index = knownConfigKeys.indexOf(prefix);
      if (index !== -1) return index;
    }
    return knownConfigKeys.length;
  };
  return issues
    .map((issue, order) => ({ issue, order, rank: rank(issue.path) }))
    .sort((a, b) => a.rank - b.rank || a.order - b.order)
    .map(({ issue }) => issue);
}

/** " (did you mean x?)" for a close key in the same table, or the same key in another table; else "". */
function suggestKey(path: string): string {
  const dot = path.lastIndexOf(".");
  const table = path.slice(0, dot + 1);
  const key = path.slice(dot + 1);
  const siblings = knownConfigKeys.filter((known) => known.startsWith(table) && !known.slice(table.length).includes("."));
  const close = siblings
    .map((known) => ({ known, distance: editDistance(key.toLowerCase(), known.slice(table.length).toLowerCase()) }))
    .filter(({ distance }) => distance <= Math.max(1, Math.floor(key.length / 3)))
    .sort((a, b) => a.distance - b.distance)[0];
  if (close) return ` (did you mean ${close.known}?)`;
  const elsewhere = knownConfigKeys.find((known) => known.endsWith(`.${key}`) || known === key);
  return elsewhere ? ` (did you mean ${elsewhere}?)` : "";
}

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

function collectKeys(schema: z.ZodType, prefix: string): string[] {
  const object = unwrapObject(schema);
  if (!object) return [];
  return Object.entries(object.shape).flatMap(([key, child]) => {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    return [path, ...collectKeys(child as z.ZodType, path)];
  });
}

function unwrapObject(schema: z.ZodType): z.ZodObject | undefined {
  const def = (schema as { _zod: { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } } })._zod.def;
  if (def.type === "object") return schema as unknown as z.ZodObject;
  const inner = def.innerType ?? def.in;
  return inner ? unwrapObject(inner) : undefined;
}
