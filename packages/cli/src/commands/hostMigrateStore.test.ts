import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateKeyToAccount } from "viem/accounts";
import { openStore } from "@session-jobs/host";
import { startTestPostgres, type TestPostgres } from "../../../host/src/testUtils/testPostgres.ts";
import { runCli } from "../cli.ts";
import { captureStreams } from "../../test/captureStreams.ts";

const key = `0x${"11".repeat(32)}` as const;
const marketplace = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres({ fsync: false });
}, 120_000);
afterAll(() => postgres?.stop());

async function cli(argv: string[]) {
  const { stdout, stderr, streams } = captureStreams();
  const code = await runCli(argv, { ...streams, env: { CI: "true", SESSION_JOBS_HOST_PRIVATE_KEY: key } });
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
    expect(await postgres.query(to, "SELECT job_id FROM sessions")).toEqual([{ job_id: "5" }]);

    const again = await cli(["host", "migrate-store", "--config", config, "--to", to]);
    expect(again.code).toBe(1);
    // After the progress line, one error line and its hint.
    expect(again.stderr).toMatch(
      /\nerror: cannot migrate: the PostgreSQL database already holds sessions or transactions: migrate into an empty database\n {2}hint: [^\n]+\n$/,
    );
  });

  it("refuses without a postgres:// target or from a config that already names PostgreSQL, in one line", async () => {
    const config = await hostWithSqlite();
    for (const [argv, pattern] of [
      [["--config", config], /^error: missing --to/],
      [["--config", config, "--to", "mysql://db/hosts"], /^error: --to must be a postgres:\/\/ URL\n/],
      [
        ["--config", await hostWithSqlite({ dbPath: undefined, store: "postgres://db/hosts" }), "--to", "postgres://db/other"],
        /^error: the host config already names a PostgreSQL store\n/,
      ],
    ] as const) {
      const result = await cli(["host", "migrate-store", ...argv]);
      expect(result.code, argv.join(" ")).toBe(1);
      expect(result.stderr).toMatch(pattern);
    }
  });
});
