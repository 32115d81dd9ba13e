/**
 * `host migrate-store --reopen-sqlite` (the roll-back) and the migration's connection, as an
 * operator meets them, against a real PostgreSQL: a roll-back that would lose the clients'
 * signed pay or run beside the PostgreSQL processes is refused in one line with a hint, and the
 * first Ctrl-C stops a connection that the server never answers.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "@session-jobs/host";
import { deployment, serveUpTo } from "../../../host/src/testUtils/storeFixtures.ts";
import { startSilentServer, type SilentServer } from "../../../host/src/testUtils/silentServer.ts";
import { startTestPostgres, type TestPostgres } from "../../../host/src/testUtils/testPostgres.ts";
import { runCli } from "../cli.ts";
import { captureStreams } from "../../test/captureStreams.ts";

let postgres: TestPostgres;
let silent: SilentServer;
beforeAll(async () => {
  postgres = await startTestPostgres({ fsync: false });
  silent = await startSilentServer();
}, 120_000);
afterAll(async () => {
  postgres?.stop();
  await silent?.close();
});

async function cli(argv: string[], onStderr?: (chunk: string) => void) {
  const { stdout, stderr, streams } = captureStreams();
  if (onStderr) {
    const write = streams.stderr.write.bind(streams.stderr);
    streams.stderr.write = ((chunk: string, ...rest: never[]) => (onStderr(String(chunk)), write(chunk, ...rest))) as typeof streams.stderr.write;
  }
  const code = await runCli(argv, { ...streams, env: { CI: "true" } });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** A host config whose SQLite file has served job 4 up to 25 signed tokens, migrated by the CLI into a new database. */
async function migratedHost() {
  const dir = mkdtempSync(join(tmpdir(), "host-rollback-cli-"));
  const config = join(dir, "host.toml");
  writeFileSync(config, `dbPath = "host.sqlite"\n`);
  const sqlite = await openStore({ location: { kind: "sqlite", path: join(dir, "host.sqlite") }, deployment });
  await serveUpTo(sqlite, 4n, 1n, 0, 25);
  await sqlite.close();
  const url = await postgres.createDatabase();
  const migrated = await cli(["host", "migrate-store", "--config", config, "--to", url]);
  expect(migrated.code, migrated.stderr).toBe(0);
  return { config, url, openPostgres: () => openStore({ location: { kind: "postgres", url, poolSize: 2 }, deployment }) };
}

const reopen = (config: string, ...extra: string[]) => cli(["host", "migrate-store", "--config", config, "--reopen-sqlite", ...extra]);

describe("session-jobs host migrate-store --reopen-sqlite", () => {
  it("refuses once PostgreSQL served past the file, naming the signed tokens not yet proven that the users would get back", async () => {
    const { config, openPostgres } = await migratedHost();
    // The operator's run: job 4 went on to 153 signed tokens on PostgreSQL, 88 of them proven.
    const store = await openPostgres();
    await serveUpTo(store, 4n, 2n, 25, 88);
    await serveUpTo(store, 4n, 3n, 88, 153);
    await store.setProvenTokens(4n, 88);
    await store.close();
    for (const extra of [[], ["--force"]]) {
      const result = await reopen(config, ...extra);
      expect(result.code, extra.join(" ")).toBe(1);
      expect(result.stderr).toMatch(
        /^error: cannot roll back: postgres:\/\/\S+ served past this file: 1 sessions went on \(65 signed tokens not yet proven would be refunded to their users\), 0 transactions were recorded\n {2}hint: [^\n]+keep the host on PostgreSQL[^\n]+\n$/,
      );
    }
    // Still marked: a node is still refused the file.
    expect((await reopen(config)).code).toBe(1);
  });

  it("refuses while a host process is on PostgreSQL, then rolls back once it is stopped and nothing was served", async () => {
    const { config, openPostgres } = await migratedHost();
    const running = await openPostgres();
    const refused = await reopen(config);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^error: cannot roll back: host processes are still connected to \S+ \(\d+ connections\)\n {2}hint: stop every host process on PostgreSQL first[^\n]+\n$/,
    );
    await running.close();
    const reopened = await reopen(config);
    expect(reopened.code, reopened.stderr).toBe(0);
    expect(reopened.stdout).toMatch(/has no host process on it and served nothing past \S+host\.sqlite\n/);
    expect(reopened.stdout).toContain("can be opened by `host start` again");
  });

  it("refuses a PostgreSQL it cannot reach unless --force says it never served", async () => {
    const dir = mkdtempSync(join(tmpdir(), "host-rollback-cli-"));
    const config = join(dir, "host.toml");
    writeFileSync(config, `dbPath = "host.sqlite"\n`);
    await (await openStore({ location: { kind: "sqlite", path: join(dir, "host.sqlite") }, deployment })).close();
    // Migrated into a database that has since been dropped.
    const url = await postgres.createDatabase();
    expect((await cli(["host", "migrate-store", "--config", config, "--to", url])).code).toBe(0);
    await postgres.query(url.replace(/\/test_\d+\?/, "/postgres?"), `DROP DATABASE ${/\/(test_\d+)\?/.exec(url)![1]}`);
    const refused = await reopen(config);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^error: cannot roll back: cannot check postgres:\/\/\S+ before rolling back: [^\n]+\n {2}hint: create the database first \(createdb\), or correct its name in the URL the file's migration mark names \(--to gives another\); [^\n]*add --force [^\n]+\n$/,
    );
    // --force belongs to the roll-back only: a migration given it is refused rather than run as if it meant something.
    const misplaced = await cli(["host", "migrate-store", "--config", config, "--to", url, "--force"]);
    expect(misplaced.code).toBe(1);
    expect(misplaced.stderr).toMatch(/^error: --force goes only with --reopen-sqlite\n {2}hint: [^\n]+\n$/);
    const forced = await reopen(config, "--force");
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/^warning: postgres:\/\/\S+ could not be reached and was not checked \(--force\)/);
  });
});

describe("session-jobs host migrate-store's connection", () => {
  it("stops on the first Ctrl-C while a server that accepted the connection never answers (exit 130, the migration's own words)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "host-rollback-cli-"));
    const config = join(dir, "host.toml");
    writeFileSync(config, `dbPath = "host.sqlite"\n`);
    await (await openStore({ location: { kind: "sqlite", path: join(dir, "host.sqlite") }, deployment })).close();
    // Ctrl-C once the server holds the connection: the CLI's own SIGINT listener, the last one added.
    const interrupting = silent.nextConnection().then(() => (process.listeners("SIGINT").at(-1) as () => void)());
    const result = await cli(["host", "migrate-store", "--config", config, "--to", silent.url]);
    await interrupting;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toMatch(
      /\nerror: the migration was stopped: nothing was copied, the SQLite file is as it was\n {2}hint: run the same command again[^\n]*\n$/,
    );
    expect(result.stderr).not.toMatch(/timeout/);
  });
});
