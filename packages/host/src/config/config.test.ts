import { createCipheriv, pbkdf2Sync, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { bytesToHex, concatBytes, hexToBytes, keccak256 } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { describeHostConfig, loadHostConfig, loadHostStoreConfig, resolveHostConfig } from "./config.ts";
import { ConfigError } from "../errors.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";

const makeTempDir = tempDirsRemovedAfterAll();

const key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const address = privateKeyToAccount(key).address;
const model = `0x${"ab".repeat(32)}`;
const minimal = {
  rpcUrl: "http://127.0.0.1:8545",
  privateKey: key,
  contracts: { jobMarketplace: "0x5FbDB2315678afecb367f032d93F642f64180aa3", nodeRegistry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512" },
  models: [model],
  pricing: { minPricePerToken: 2000 },
};

function tempDir() {
  return makeTempDir("host-config-");
}

/** What resolving `minimal` with `input` over it reports, or "" when it resolves. */
const problems = (input: Record<string, unknown>) => {
  try {
    resolveHostConfig({ ...minimal, ...input });
  } catch (error) {
    return (error as Error).message;
  }
  return "";
};

const contracts = `jobMarketplace = "${minimal.contracts.jobMarketplace}"\nnodeRegistry = "${minimal.contracts.nodeRegistry}"`;

/** The issues of the ConfigError that `run` throws. */
function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error("no ConfigError");
}

describe("resolveHostConfig", () => {
  it("fills defaults and holds the key only as an account", () => {
    const config = resolveHostConfig(minimal);
    expect(config.account.address).toBe(address);
    expect(config.pricing.minPricePerToken).toBe(2000n);
    expect(config.backend).toEqual({ type: "embedded" });
    expect(config.server).toEqual({
      host: "127.0.0.1",
      port: 8080,
      maxBodyBytes: 1048576,
      corsOrigins: [],
      maxConnections: 1024,
      maxConnectionsPerAddress: 64,
      reservedFileDescriptors: 128,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      writeStallTimeoutMs: 10_000,
    });
    expect(JSON.stringify(describeHostConfig(config))).not.toContain(key.slice(2));
    expect(JSON.stringify(config, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).not.toContain(key.slice(2));
  });

  it('chooses a PostgreSQL store by store = "postgres://…", strictly, and never shows its password', () => {
    expect(resolveHostConfig(minimal).store).toMatchObject({ kind: "sqlite" });
    const shared = resolveHostConfig({ ...minimal, store: "postgres://host:s3cret@db.internal/hosts", storePoolSize: 20 });
    expect(shared.store).toEqual({ kind: "postgres", url: "postgres://host:s3cret@db.internal/hosts", poolSize: 20 });
    expect(JSON.stringify(describeHostConfig(shared))).not.toContain("s3cret");
    expect(resolveHostConfig({ ...minimal, store: "postgresql://db/hosts" }).store).toMatchObject({ kind: "postgres", poolSize: 10 });
    expect(problems({ store: "mysql://db/hosts" })).toContain("store: must be a postgres:// URL");
    expect(problems({ store: "postgres://db/hosts", dbPath: "host.sqlite" })).toContain("store: set either store (PostgreSQL) or dbPath (SQLite), not both");
    expect(problems({ storePoolSize: 5 })).toContain("storePoolSize: only for a PostgreSQL store");
    expect(problems({ store: "postgres://db/hosts", storePoolSize: 0 })).toContain("storePoolSize: must be an integer in 1..1000");
  });

  it("bounds a PostgreSQL store's queries by storeQueryTimeoutMs when set (the store's 15 s default otherwise)", () => {
    const store = "postgres://db/hosts";
    expect(resolveHostConfig({ ...minimal, store, storeQueryTimeoutMs: 60_000 }).store).toEqual({
      kind: "postgres",
      url: store,
      poolSize: 10,
      queryTimeoutMs: 60_000,
    });
    expect(resolveHostConfig({ ...minimal, store }).store).not.toHaveProperty("queryTimeoutMs");
    expect(problems({ storeQueryTimeoutMs: 60_000 })).toContain("storeQueryTimeoutMs: only for a PostgreSQL store");
    expect(problems({ store, storeQueryTimeoutMs: 10 })).toContain("storeQueryTimeoutMs: must be an integer in 1000..600000, got 10");
    expect(problems({ store, storeQueryTimeoutMs: "soon" })).toContain("storeQueryTimeoutMs: must be an integer in 1000..600000");
  });

  it("lists every problem at once and never echoes a key", () => {
    const badKey = `0x${"zz".repeat(32)}`;
    let error: unknown;
    try {
      resolveHostConfig({
        rpcUrl: "localhost:8545",
        privateKey: badKey,
        contracts: { jobMarketplace: "0x1234" },
        models: ["0x12"],
        pricing: { minPricePerToken: 5 },
        server: { port: 70000 },
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { issues, message } = error as ConfigError;
    expect(issues).toEqual([
      "rpcUrl: required, an http(s) or ws(s) URL",
      "privateKey: must be 32 bytes of hex (value not shown)",
      "contracts.jobMarketplace: not an address: 0x1234",
      "contracts.nodeRegistry: required (or give a deployments file)",
      "models: not a bytes32 model id: 0x12",
      "pricing.minPricePerToken: 5 is outside 100..100000",
      "server.port: must be an integer in 0..65535, got 70000",
    ]);
    expect(message).not.toContain("zz".repeat(32));
  });

  it("reads contract addresses and the chain id from a deployments file", () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "deployments.json"),
      JSON.stringify({
        chainId: 31337,
        jobMarketplace: minimal.contracts.jobMarketplace,
        nodeRegistry: minimal.contracts.nodeRegistry,
        hostEarnings: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
      }),
    );
    const { contracts: _contracts, ...rest } = minimal;
    const config = resolveHostConfig({ ...rest, deployments: "deployments.json" }, { baseDir: dir });
    expect(config.chainId).toBe(31337);
    expect(config.contracts.hostEarnings).toBe("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0");
  });

  it("refuses connection limits that cannot work", () => {
    expect(() => resolveHostConfig({ ...minimal, server: { maxConnections: 0 } })).toThrow(/server\.maxConnections: must be an integer in 1\.\.…/);
    expect(() => resolveHostConfig({ ...minimal, server: { headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 } })).toThrow(
      /server\.headersTimeoutMs: larger than server\.requestTimeoutMs/,
    );
    expect(() => resolveHostConfig({ ...minimal, batch: { drainTimeoutMs: -1 } })).toThrow(/batch\.drainTimeoutMs/);
  });

  // A sync lists two receipts' worth of requests and answers: those the newest receipt alone covers
  // (kept for a client that lost its state after signing them) and those after it.
  it("refuses sync limits one session's sync answer would not fit: the sync budget below two receipts' worth, or requests and answers over the 48 MiB kept for them of the 64 MiB clients read", () => {
    const mib = 1024 * 1024;
    expect(issuesOf(() => resolveHostConfig({ ...minimal, limits: { maxUnsignedBytes: 8 * mib, maxSyncBytesInFlight: 16 * mib - 1 } }))).toEqual([
      `limits.maxSyncBytesInFlight: smaller than one session's sync answer can hold (2 × limits.maxUnsignedBytes = ${16 * mib}: the exchanges its newest receipt covers and those after it); set at least ${16 * mib}`,
    ]);
    expect(resolveHostConfig({ ...minimal, limits: { maxUnsignedBytes: 8 * mib, maxSyncBytesInFlight: 16 * mib } }).limits.maxSyncBytesInFlight).toBe(16 * mib);
    // 8/3 × (maxUnsignedBytes + maxBodyBytes) ≤ 48 MiB (16 MiB of the 64 MiB left for what that does not count): with the default 1 MiB body, at most 17 MiB.
    const over = (bytes: number) =>
      `limits.maxUnsignedBytes: one session's sync answer could hold ${bytes} bytes of requests and answers (8/3 × (limits.maxUnsignedBytes + server.maxBodyBytes)), over the ${48 * mib} kept for them of the ${64 * mib} clients read (the rest: each exchange's fields, the last answers, JSON escapes); `;
    const fits = { maxUnsignedBytes: 17 * mib, maxSyncBytesInFlight: 34 * mib };
    expect(resolveHostConfig({ ...minimal, limits: fits }).limits.maxUnsignedBytes).toBe(17 * mib);
    expect(issuesOf(() => resolveHostConfig({ ...minimal, limits: { ...fits, maxUnsignedBytes: 17 * mib + 1 } }))).toEqual([
      `${over(48 * mib + 3)}set at most ${17 * mib}`,
      `limits.maxSyncBytesInFlight: smaller than one session's sync answer can hold (2 × limits.maxUnsignedBytes = ${34 * mib + 2}: the exchanges its newest receipt covers and those after it); set at least ${34 * mib + 2}`,
    ]);
    expect(issuesOf(() => resolveHostConfig({ ...minimal, server: { maxBodyBytes: 2 * mib }, limits: fits }))).toEqual([
      `${over(Math.ceil((8 * 19 * mib) / 3))}set at most ${16 * mib}`,
    ]);
    // A body limit that leaves no room for the smallest maxUnsignedBytes (1024): the hint is to lower the body limit.
    const smallest = { maxUnsignedBytes: 1024, maxSyncBytesInFlight: 2048 };
    expect(resolveHostConfig({ ...minimal, server: { maxBodyBytes: 18 * mib - 1024 }, limits: smallest }).server.maxBodyBytes).toBe(18 * mib - 1024);
    expect(issuesOf(() => resolveHostConfig({ ...minimal, server: { maxBodyBytes: 24 * mib }, limits: smallest }))).toEqual([
      `${over(Math.ceil((8 * (24 * mib + 1024)) / 3))}lower server.maxBodyBytes to at most ${18 * mib - 1024}`,
    ]);
  });
});

describe("loadHostConfig", () => {
  it("reads a TOML file and lets the environment override it", () => {
    const dir = tempDir();
    const path = join(dir, "host.toml");
    writeFileSync(
      path,
      `# host node
rpcUrl = "http://127.0.0.1:8545"
models = ["${model}"]
dbPath = "state/host.sqlite"

[contracts]
jobMarketplace = "${minimal.contracts.jobMarketplace}"
nodeRegistry = "${minimal.contracts.nodeRegistry}"

[pricing]
minPricePerToken = 2_000

[backend]
type = "upstream"
url = "http://127.0.0.1:11434/v1" # ollama
model = "llama3.2"

[batch]
maxJobs = 10
`,
    );
    const config = loadHostConfig({ path, env: { SESSION_JOBS_HOST_PRIVATE_KEY: key, SESSION_JOBS_HOST_PORT: "9090", SESSION_JOBS_HOST_MIN_PRICE: "3000" } });
    expect(config.account.address).toBe(address);
    expect(config.server.port).toBe(9090);
    expect(config.pricing.minPricePerToken).toBe(3000n);
    expect(config.dbPath).toBe(join(dir, "state/host.sqlite"));
    expect(config.backend).toEqual({ type: "upstream", url: "http://127.0.0.1:11434/v1", model: "llama3.2" });
    expect(config.batch.maxJobs).toBe(10);
  });

  it("decrypts a v3 keystore with the password from the environment", () => {
    const dir = tempDir();
    const path = join(dir, "host.json");
    writeFileSync(join(dir, "keystore.json"), JSON.stringify(encryptKeystore(key, "correct horse")));
    writeFileSync(path, JSON.stringify({ ...minimal, privateKey: undefined, keystore: { path: "keystore.json" } }));
    expect(loadHostConfig({ path, env: { SESSION_JOBS_HOST_KEYSTORE_PASSWORD: "correct horse" } }).account.address).toBe(address);
    expect(() => loadHostConfig({ path, env: { SESSION_JOBS_HOST_KEYSTORE_PASSWORD: "wrong" } })).toThrow(/keystore password is wrong/);
  });

  it("reads a file named neither .toml nor .json by its content: TOML unless it starts with {; a malformed one says how it was read", () => {
    const dir = tempDir();
    const toml = join(dir, "host.conf");
    writeFileSync(
      toml,
      `# written by hand\nrpcUrl = "http://127.0.0.1:8545"\nmodels = ["${model}"]\n\n[contracts]\njobMarketplace = "${minimal.contracts.jobMarketplace}"\nnodeRegistry = "${minimal.contracts.nodeRegistry}"\n\n[pricing]\nminPricePerToken = 2_000\n`,
    );
    const env = { SESSION_JOBS_HOST_PRIVATE_KEY: key };
    expect(loadHostConfig({ path: toml, env }).pricing.minPricePerToken).toBe(2000n);
    const json = join(dir, "host-config");
    writeFileSync(json, `\n  ${JSON.stringify(minimal)}`);
    expect(loadHostConfig({ path: json, env }).rpcUrl).toBe(minimal.rpcUrl);

    writeFileSync(toml, "rpcUrl = http://no-quotes\n");
    expect(issuesOf(() => loadHostConfig({ path: toml, env }))).toEqual([
      `config file ${toml} is malformed: line 1, column 10: invalid value (read as TOML, since it does not start with {; name it .toml or .json to say which)`,
    ]);
    writeFileSync(json, '{ "rpcUrl": }');
    expect(issuesOf(() => loadHostConfig({ path: json, env }))[0]).toMatch(
      /^config file .*host-config is malformed: .* \(read as JSON, since it starts with \{; name it \.toml or \.json to say which\)$/,
    );
  });

  it("names the file when it cannot be parsed", () => {
    const dir = tempDir();
    const path = join(dir, "host.toml");
    writeFileSync(path, "rpcUrl = http://no-quotes\n");
    expect(() => loadHostConfig({ path, env: {} })).toThrow(/host\.toml is malformed: line 1, column 10: invalid value/);
  });
});

describe("the deployment file from the environment", () => {
  function setUp() {
    const configDir = tempDir();
    const deploymentDir = tempDir();
    const deployment = join(deploymentDir, "deployment.json");
    writeFileSync(deployment, JSON.stringify({ chainId: 31337, ...minimal.contracts }));
    const { contracts: _contracts, privateKey: _key, ...rest } = minimal;
    const path = join(configDir, "host.json");
    writeFileSync(path, JSON.stringify(rest));
    return { path, deployment };
  }

  it("is relative to the current folder, as for client commands, not to the config file", () => {
    const { path, deployment } = setUp();
    const config = loadHostConfig({ path, env: { SESSION_JOBS_HOST_PRIVATE_KEY: key, SESSION_JOBS_DEPLOYMENT: relative(process.cwd(), deployment) } });
    expect(config.contracts.nodeRegistry).toBe(minimal.contracts.nodeRegistry);
  });

  it("still reads the old name SESSION_JOBS_DEPLOYMENTS, with a warning", () => {
    const { path, deployment } = setUp();
    const warnings: string[] = [];
    const config = loadHostConfig({
      path,
      env: { SESSION_JOBS_HOST_PRIVATE_KEY: key, SESSION_JOBS_DEPLOYMENTS: deployment },
      warn: (message) => warnings.push(message),
    });
    expect(config.chainId).toBe(31337);
    expect(warnings).toEqual(["SESSION_JOBS_DEPLOYMENTS is deprecated: use SESSION_JOBS_DEPLOYMENT"]);
  });
});

describe("config files are full TOML, checked strictly", () => {
  const load = (toml: string) => {
    const path = join(tempDir(), "host.toml");
    writeFileSync(path, toml);
    return () => loadHostConfig({ path, env: { SESSION_JOBS_HOST_PRIVATE_KEY: key } });
  };

  it("reads multi-line arrays, inline tables and multi-line strings", () => {
    const config = load(`rpcUrl = "http://127.0.0.1:8545"
models = [
  "${model}",   # the embedded model
]
contracts = { ${contracts.replace("\n", ", ")} }
metadata = """
{"location": "home"}"""
server.port = 9000
pricing.minPricePerToken = 2000
`)();
    expect(config.models).toEqual([model]);
    expect(config.contracts.nodeRegistry).toBe(minimal.contracts.nodeRegistry);
    expect(JSON.parse(config.metadata)).toEqual({ location: "home" });
    expect(config.server.port).toBe(9000);
  });

  it("refuses unknown keys with a suggestion and the line", () => {
    const issues = issuesOf(
      load(`rpcUrl = "http://127.0.0.1:8545"
modles = ["${model}"]
models = ["${model}"]
port = 8080

[contracts]
${contracts}

[pricng]
minPricePerToken = 2000

[server]
prot = 8080
`),
    );
    expect(issues).toEqual([
      "pricing.minPricePerToken: required, in the payment token's base units per token (100..100000)",
      "server.prot: unknown key (did you mean server.port?) (host.toml line 14)",
      "modles: unknown key (did you mean models?) (host.toml line 2)",
      "port: unknown key (did you mean server.port?) (host.toml line 4)",
      "pricng: unknown key (did you mean pricing?) (host.toml line 10)",
    ]);
  });

  it("names the key and the line of a value of the wrong type", () => {
    const issues = issuesOf(
      load(`rpcUrl = "http://127.0.0.1:8545"
models = "${model}"

[contracts]
${contracts}

[pricing]
minPricePerToken = "cheap"

[server]
port = "eighty"

[backend]
type = "vllm"
`),
    );
    expect(issues).toEqual([
      'backend.type: "vllm" is neither "embedded" nor "upstream" (host.toml line 15)',
      "models: required, the on-chain model ids (bytes32 hex) this node serves (host.toml line 2)",
      'pricing.minPricePerToken: must be a positive integer, got "cheap" (host.toml line 9)',
      'server.port: must be an integer in 0..65535, got "eighty" (host.toml line 12)',
    ]);
  });

  it("refuses a pathologically nested file with one error, not a crash", () => {
    const depth = 100_000;
    expect(issuesOf(load(`models = ${"[".repeat(depth)}${"]".repeat(depth)}\n`))[0]).toMatch(/^config file .*host\.toml is malformed: /);
    expect(issuesOf(load(`metadata = ${"{ a = ".repeat(depth)}1${" }".repeat(depth)}\n`))[0]).toMatch(/^config file .*host\.toml is malformed: /);
  });

  it("keeps integers beyond 2^53 exact and reports them readably", () => {
    const base = `rpcUrl = "http://127.0.0.1:8545"\nmodels = ["${model}"]\n[contracts]\n${contracts}\n`;
    expect(load(`${base}[pricing]\nminPricePerToken = 2000\nminPricePerTokenNative = 100000000000000000001\n`)().pricing.minPricePerTokenNative).toBe(
      100000000000000000001n,
    );
    expect(issuesOf(load(`${base}[pricing]\nminPricePerToken = 2000\n[server]\nport = 100000000000000000001\n`))).toEqual([
      "server.port: must be an integer in 0..65535, got 100000000000000000001 (host.toml line 9)",
    ]);
  });

  it("gives no line for a value the environment set", () => {
    const path = join(tempDir(), "host.toml");
    writeFileSync(
      path,
      `rpcUrl = "http://127.0.0.1:8545"\nmodels = ["${model}"]\n[contracts]\n${contracts}\n[pricing]\nminPricePerToken = 2000\n[server]\nport = 80\n`,
    );
    expect(issuesOf(() => loadHostConfig({ path, env: { SESSION_JOBS_HOST_PRIVATE_KEY: key, SESSION_JOBS_HOST_PORT: "99999" } }))).toEqual([
      'server.port: must be an integer in 0..65535, got "99999"',
    ]);
  });
});

/** Writes a v3 keystore (pbkdf2, few rounds to keep the test fast) the way wallets do. */
function encryptKeystore(privateKey: `0x${string}`, password: string) {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const derivedKey = pbkdf2Sync(password, salt, 1024, 32, "sha256");
  const cipher = createCipheriv("aes-128-ctr", derivedKey.subarray(0, 16), iv);
  const ciphertext = concatBytes([cipher.update(hexToBytes(privateKey)), cipher.final()]);
  return {
    version: 3,
    id: "00000000-0000-4000-8000-000000000000",
    crypto: {
      cipher: "aes-128-ctr",
      ciphertext: bytesToHex(ciphertext).slice(2),
      cipherparams: { iv: iv.toString("hex") },
      kdf: "pbkdf2",
      kdfparams: { c: 1024, dklen: 32, prf: "hmac-sha256", salt: salt.toString("hex") },
      mac: keccak256(concatBytes([derivedKey.subarray(16, 32), ciphertext])).slice(2),
    },
  };
}

describe("the store's settings, from the file and the environment", () => {
  const file = (store: string) => {
    const path = join(tempDir(), "host-pg.toml");
    writeFileSync(
      path,
      `store = "${store}"\nrpcUrl = "http://127.0.0.1:8545"\nmodels = ["${model}"]\n\n[pricing]\nminPricePerToken = 2000\n\n[contracts]\n${contracts}\n`,
    );
    return path;
  };

  it("a dbPath from SESSION_JOBS_HOST_DB (a systemd unit, a Docker image) next to a store in the file is named as the environment's", () => {
    const path = file("postgres://host@db.internal/hosts");
    const env = { SESSION_JOBS_HOST_PRIVATE_KEY: key, SESSION_JOBS_HOST_DB: "/var/lib/session-jobs/host.sqlite" };
    for (const load of [() => loadHostConfig({ path, env }), () => loadHostStoreConfig({ path, env })])
      expect(issuesOf(load)).toEqual([
        "dbPath: set by SESSION_JOBS_HOST_DB in the environment (the systemd unit's Environment= or the Docker image's ENV set it), and store is set too: unset SESSION_JOBS_HOST_DB for a PostgreSQL store",
      ]);
    // As the guide's Docker steps run it: the image's variable emptied, the store from the environment.
    const dockerEnv = { SESSION_JOBS_HOST_DB: "", SESSION_JOBS_HOST_STORE: "postgres://hosts@db.internal/hosts" };
    expect(loadHostStoreConfig({ path: file("postgres://hosts@db.internal/other"), env: dockerEnv }).store).toEqual({
      kind: "postgres",
      url: "postgres://hosts@db.internal/hosts",
      poolSize: 10,
    });
    // Both in the file: the file's line.
    writeFileSync(path, `dbPath = "host.sqlite"\n` + readFileSync(path, "utf8"));
    expect(issuesOf(() => loadHostConfig({ path, env: { SESSION_JOBS_HOST_PRIVATE_KEY: key } }))).toEqual([
      "store: set either store (PostgreSQL) or dbPath (SQLite), not both (host-pg.toml line 2)",
    ]);
    // The store from the environment, dbPath from the file.
    const sqlitePath = join(tempDir(), "host.toml");
    writeFileSync(sqlitePath, `dbPath = "host.sqlite"\n`);
    expect(issuesOf(() => loadHostStoreConfig({ path: sqlitePath, env: { SESSION_JOBS_HOST_STORE: "postgres://db/hosts" } }))).toEqual([
      "store: set by SESSION_JOBS_HOST_STORE in the environment, and dbPath is set too: remove dbPath for a PostgreSQL store, or unset SESSION_JOBS_HOST_STORE",
    ]);
  });

  it("refuses a store URL the driver would read otherwise than written, without showing its password", () => {
    for (const store of [
      "postgres://hosts:pa/zq9@db.internal/hosts",
      "postgres://hosts:12/zq9@db.internal/hosts",
      "postgres://hosts:pa#zq9@db.internal/hosts",
    ]) {
      const issues = issuesOf(() => resolveHostConfig({ ...minimal, store }));
      expect(issues).toEqual([
        "store: does not read as postgres://user:password@host:port/database (shown as postgres://***): percent-encode special characters in the password (/ as %2F, # as %23, ? as %3F, @ as %40, : as %3A)",
      ]);
      expect(issues.join()).not.toContain("zq9");
    }
    expect(resolveHostConfig({ ...minimal, store: "postgres://hosts:pa%2Fss@db.internal/hosts" }).store).toMatchObject({ kind: "postgres" });
  });

  it("loadHostStoreConfig reads where the store is without a host key (host migrate-store needs none)", () => {
    const dir = tempDir();
    const path = join(dir, "host.toml");
    writeFileSync(path, `dbPath = "host.sqlite"\n`);
    expect(loadHostStoreConfig({ path, env: {} })).toEqual({ dbPath: join(dir, "host.sqlite"), store: { kind: "sqlite", path: join(dir, "host.sqlite") } });
    expect(loadHostStoreConfig({ path, env: { SESSION_JOBS_HOST_DB: "/srv/host.sqlite" } }).dbPath).toBe("/srv/host.sqlite");
    expect(issuesOf(() => loadHostStoreConfig({ path, env: { SESSION_JOBS_HOST_STORE: "mysql://db" } }))[0]).toMatch(/^store: must be a postgres:\/\/ URL/);
  });
});
