import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateKeyToAccount } from "viem/accounts";
import { openStore } from "@session-jobs/host";
import { startTestPostgres, type TestPostgres } from "../../../host/src/testUtils/testPostgres.ts";
import { runCli } from "../cli.ts";
import type { Common } from "../common.ts";
import { reportProgress } from "./hostMigrateStore.ts";
import { captureStreams } from "../../test/captureStreams.ts";

const key = `0x${"11".repeat(32)}` as const;
const marketplace = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
let postgres: TestPostgres;
beforeAll(async () => {
  // pg_hba.conf admits these users only: any other is refused before its role is looked at.
  postgres = await startTestPostgres({ fsync: false, admit: ["postgres", "limited", "nologin"] });
}, 120_000);
afterAll(() => postgres?.stop());

/** The CLI as an operator runs migrate-store: no host key in the environment (it needs none). */
async function cli(argv: string[], env: Record<string, string> = {}) {
  const { stdout, stderr, streams } = captureStreams();
  const code = await runCli(argv, { ...streams, env: { CI: "true", ...env } });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** A host config whose SQLite database holds one session. */
async function hostWithSqlite(extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "host-migrate-cli-"));
  const config = join(dir, "host.json");
  writeFileSync(
    config,
    JSON.stringify({
      rpcUrl: "http://127.0.0.1:1",
      contracts: { jobMarketplace: marketplace, nodeRegistry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512" },
      models: [`0x${"ab".repeat(32)}`],
      pricing: { minPricePerToken: 2000 },
      dbPath: "host.sqlite",
      ...extra,
    }),
  );
  const store = await openStore({
    location: { kind: "sqlite", path: join(dir, "host.sqlite") },
    deployment: { chainId: 31337, marketplace, host: privateKeyToAccount(key).address },
  });
  await store.ensureSession(5n, 100);
  await store.close();
  return config;
}

describe("session-jobs host migrate-store", () => {
  it("copies the SQLite database into an empty PostgreSQL one and says what to configure next", async () => {
    const config = await hostWithSqlite();
    const to = await postgres.createDatabase();
    const result = await cli(["host", "migrate-store", "--config", config, "--to", to]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("copied 1 sessions, 0 exchanges, 0 receipts and 0 transactions");
    expect(result.stdout).toContain(`next: set store = "${to}"`);
    expect(result.stderr).toContain("  sessions: 1 of 1 rows\n");
    expect(await postgres.query(to, "SELECT job_id FROM sessions")).toEqual([{ job_id: "5" }]);

    // The SQLite file is marked: migrating it again (or starting a node on it) is refused, naming where it went.
    const again = await cli(["host", "migrate-store", "--config", config, "--to", await postgres.createDatabase()]);
    expect(again.code).toBe(1);
    // After the progress line, one error line and its hint.
    expect(again.stderr).toMatch(
      /\nerror: cannot migrate: \S+host\.sqlite was migrated to postgres:\/\/\S+ at \S+: [^\n]+\n {2}hint: [^\n]+--reopen-sqlite[^\n]+\n$/,
    );

    // Reopened on purpose (nothing served on PostgreSQL), it copies again; into the first database, it is refused as not empty.
    const reopened = await cli(["host", "migrate-store", "--config", config, "--reopen-sqlite"]);
    expect(reopened.code, reopened.stderr).toBe(0);
    // Checked first: no host process on PostgreSQL, nothing served past the file (hostMigrateStoreRollback.test.ts for the refusals).
    expect(reopened.stdout).toMatch(/^postgres:\/\/\S+ has no host process on it and served nothing past \S+host\.sqlite\n/);
    const full = await cli(["host", "migrate-store", "--config", config, "--to", to]);
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(
      /\nerror: cannot migrate: the PostgreSQL database already holds sessions or transactions: migrate into an empty database\n {2}hint: [^\n]+\n$/,
    );
  });

  it("stops cleanly on the first Ctrl-C (exit 130): PostgreSQL keeps nothing, and the same command then copies everything", async () => {
    const config = await hostWithSqlite();
    const to = await postgres.createDatabase();
    const { stdout, stderr, streams } = captureStreams();
    const write = streams.stderr.write.bind(streams.stderr);
    // Ctrl-C as soon as the first table is copied: the CLI's own SIGINT listener, the last one added.
    streams.stderr.write = ((chunk: string, ...rest: never[]) => {
      if (String(chunk).includes("sessions: 1 of 1 rows")) (process.listeners("SIGINT").at(-1) as () => void)();
      return write(chunk, ...rest);
    }) as typeof streams.stderr.write;
    const code = await runCli(["host", "migrate-store", "--config", config, "--to", to], { ...streams, env: { CI: "true" } });
    expect(code, stderr.text()).toBe(130);
    expect(stderr.text()).toMatch(/\nerror: the migration was stopped: nothing was copied, the SQLite file is as it was\n {2}hint: run the same command again/);
    expect(stdout.text()).toBe("");
    expect(await postgres.query(to, "SELECT count(*) AS n FROM sessions")).toEqual([{ n: "0" }]);

    const again = await cli(["host", "migrate-store", "--config", config, "--to", to]);
    expect(again.code, again.stderr).toBe(0);
    expect(await postgres.query(to, "SELECT job_id FROM sessions")).toEqual([{ job_id: "5" }]);
  });

  it("names the SQLite file it cannot open and blames neither PostgreSQL nor a missing key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "host-migrate-cli-"));
    const config = join(dir, "host.toml");
    writeFileSync(config, `dbPath = "nowhere/host.sqlite"\n`);
    const result = await cli(["host", "migrate-store", "--config", config, "--to", await postgres.createDatabase()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `\nerror: cannot open the SQLite database ${join(dir, "nowhere", "host.sqlite")}: [^\n]+\n {2}hint: dbPath \\(or SESSION_JOBS_HOST_DB\\) must name [^\n]+PostgreSQL was not touched\n$`,
      ),
    );
    // The environment's dbPath, as a systemd unit or the Docker image sets it.
    const fromEnv = await cli(["host", "migrate-store", "--config", config, "--to", await postgres.createDatabase()], {
      SESSION_JOBS_HOST_DB: join(dir, "elsewhere.sqlite"),
    });
    expect(fromEnv.stderr).toContain(`error: cannot open the SQLite database ${join(dir, "elsewhere.sqlite")}: `);
  });

  it("says what to change when it cannot open --to, one hint per cause, naming --to", async () => {
    const config = await hostWithSqlite();
    const to = await postgres.createDatabase();
    const database = /\/(test_\d+)\?/.exec(to)![1]!;
    await postgres.query(to, "CREATE ROLE limited LOGIN");
    await postgres.query(to, "CREATE ROLE nologin");
    await postgres.query(to, `REVOKE CONNECT ON DATABASE ${database} FROM PUBLIC`);
    const as = (user: string) => to.replace("postgres://postgres@", `postgres://${user}@`);
    const cases = [
      [
        "postgres://hosts:s3cret@127.0.0.1:1/hosts",
        "cannot open the PostgreSQL store postgres://hosts:***@127.0.0.1:1/hosts: connect ECONNREFUSED 127.0.0.1:1",
        "nothing listens at the host and port of --to: start PostgreSQL, or correct host:port in --to",
      ],
      [
        as("stranger"),
        `cannot open the PostgreSQL store ${as("stranger")}: no pg_hba.conf entry for host "[local]", user "stranger", database "${database}", no encryption`,
        "the PostgreSQL server's pg_hba.conf has no line admitting this user to this database from this machine (with this TLS setting): add one on the server (e.g. host <database> <user> <this machine's address>/32 scram-sha-256, above any reject line) and reload it (SELECT pg_reload_conf()), or use a user and database it admits in --to",
      ],
      [
        as("nologin"),
        `cannot open the PostgreSQL store ${as("nologin")}: role "nologin" is not permitted to log in`,
        'the user in --to is a role without LOGIN: ALTER ROLE "nologin" LOGIN on the server (as a superuser), or use a user that may log in',
      ],
      [
        as("limited"),
        `cannot open the PostgreSQL store ${as("limited")}: permission denied for database "${database}"`,
        `the user in --to has no CONNECT privilege on database "${database}": as the database's owner, GRANT CONNECT ON DATABASE "${database}" TO that user (REVOKE … FROM PUBLIC took it from every user not granted it by name)`,
      ],
    ] as const;
    for (const [target, message, hint] of cases) {
      const result = await cli(["host", "migrate-store", "--config", config, "--to", target]);
      expect(result.code, target).toBe(1);
      expect(result.stderr.endsWith(`\nerror: ${message}\n  hint: ${hint}\n`), result.stderr).toBe(true);
      expect(result.stderr).not.toContain("s3cret");
    }
    // Nothing was copied, and the file is not marked: the same command copies it once the cause is mended.
    const copied = await cli(["host", "migrate-store", "--config", config, "--to", to]);
    expect(copied.code, copied.stderr).toBe(0);
  });

  it("refuses a --to whose password the driver would misread, showing none of it", async () => {
    const result = await cli(["host", "migrate-store", "--config", await hostWithSqlite(), "--to", "postgres://hosts:pa/zq9@db.internal/hosts"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: --to does not read as postgres:\/\/user:password@host:port\/database \(shown as postgres:\/\/\*\*\*\)\n {2}hint: percent-encode/,
    );
    expect(result.stderr).not.toContain("zq9");
  });

  it("refuses without a postgres:// target or from a config that already names PostgreSQL, in one line", async () => {
    const config = await hostWithSqlite();
    // A missing --to is a wrong command line (exit 2); a wrong target, a failed command (exit 1).
    for (const [argv, pattern, code] of [
      [["--config", config], /^error: missing --to/, 2],
      [["--config", config, "--to", "mysql://db/hosts"], /^error: --to must be a postgres:\/\/ URL\n/, 1],
      [
        ["--config", await hostWithSqlite({ dbPath: undefined, store: "postgres://db/hosts" }), "--to", "postgres://db/other"],
        /^error: the host config already names a PostgreSQL store\n/,
        1,
      ],
    ] as const) {
      const result = await cli(["host", "migrate-store", ...argv]);
      expect(result.code, argv.join(" ")).toBe(code);
      expect(result.stderr).toMatch(pattern);
    }
  });
});

describe("host migrate-store's progress", () => {
  it("reports a large table every 20,000 rows whatever its batches' sizes, and once when done", () => {
    const lines: string[] = [];
    const report = reportProgress({ logger: { lines: { write: (line: string) => void lines.push(line) } } } as unknown as Common);
    // Batches cut by the 4 MiB bound: 137 rows each, never a round number.
    for (let copied = 137; copied < 50_000; copied += 137) report({ table: "exchanges", copied, of: 50_000 });
    report({ table: "exchanges", copied: 50_000, of: 50_000 });
    expect(lines).toEqual(["  exchanges: 20002 of 50000 rows\n", "  exchanges: 40004 of 50000 rows\n", "  exchanges: 50000 of 50000 rows\n"]);
  });
});
