/**
 * TEST HELPER: a real PostgreSQL server for one test file, never a mock. Debian's `postgresql`
 * package (installed by `.ci/run` when missing): a fresh cluster in a temporary folder
 * (`initdb`), listening only on a Unix socket in that folder (no TCP port to collide with other
 * test runs) unless `tcp` asks for loopback TCP too (a port the system picked free just before),
 * stopped and removed by `stop()`. PostgreSQL refuses to run as root: as root, the
 * server runs as the `postgres` user (or `nobody`) through `runuser`.
 */
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import pg from "pg";

export type TestPostgres = Awaited<ReturnType<typeof startTestPostgres>>;

/** Where `initdb` and `pg_ctl` live: on PATH, else Debian's newest /usr/lib/postgresql/<version>/bin. */
export function postgresBinDir(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir && existsSync(join(dir, "initdb"))) return dir;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(join(root, version, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(root, versions[0], "bin");
}

/** The account the server runs as: this one, or when root, an unprivileged one that exists. */
function serverUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    try {
      const [uid, gid] = execFileSync("id", ["-u", name])
        .toString()
        .trim()
        .split("\n")
        .concat(execFileSync("id", ["-g", name]).toString().trim());
      return { name, uid: Number(uid), gid: Number(gid) };
    } catch {
      // No such user: try the next.
    }
  }
  throw new Error("running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as");
}

/** A loopback port free now: the system picks it for a listener that is closed at once. */
async function freePort(): Promise<number> {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * How long a test file's `beforeAll` gives {@link startTestPostgres}: `initdb` and the server's
 * start took 6–8 s at a load average of 10 on two cores (Vitest's default 10 s for a hook was
 * too short), and `pg_ctl` waits up to 120 s for the server.
 */
export const postgresStartTimeoutMs = 120_000;

/**
 * Starts a throw-away PostgreSQL; `fsync: false` for tests that only need its semantics, not its
 * durability; `tcp` for tests of what only a TCP connection has (keep-alive settings): `tcpUrl`;
 * `admit` for tests of a user that pg_hba.conf lets in nowhere: only these users may connect.
 */
export async function startTestPostgres(options: { fsync?: boolean; maxConnections?: number; tcp?: boolean; admit?: string[] } = {}) {
  const bin = postgresBinDir();
  if (!bin) throw new Error("PostgreSQL is not installed: apt-get install postgresql (the tests start their own server)");
  const dir = mkdtempSync(join(tmpdir(), "session-jobs-pg-"));
  const user = serverUser();
  chmodSync(dir, 0o755);
  if (user) chownSync(dir, user.uid, user.gid);
  const run = (program: string, args: string[]) =>
    user
      ? execFileSync("runuser", ["-u", user.name, "--", join(bin, program), ...args], { stdio: "pipe" })
      : execFileSync(join(bin, program), args, { stdio: "pipe" });
  const data = join(dir, "data");
  const port = options.tcp ? await freePort() : 5432;
  const settings = [
    `-k ${dir}`,
    options.tcp ? `-c listen_addresses=127.0.0.1 -p ${port}` : "-c listen_addresses=''",
    `-c max_connections=${options.maxConnections ?? 100}`,
    ...(options.fsync === false ? ["-c fsync=off", "-c full_page_writes=off"] : []),
  ].join(" ");
  const startServer = () => run("pg_ctl", ["-D", data, "-o", settings, "-l", join(dir, "server.log"), "-w", "-t", "120", "start"]);
  const removeServer = () => {
    try {
      run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
    if (options.admit)
      writeFileSync(join(data, "pg_hba.conf"), options.admit.map((user) => `local all ${user} trust\nhost all ${user} 127.0.0.1/32 trust\n`).join(""));
    startServer();
  } catch (error) {
    // A server that failed to set up or start leaves neither a process nor its folder behind.
    try {
      removeServer();
    } catch {
      // No server was running: its folder is gone all the same.
    }
    throw error;
  }
  const url = (database: string) => `postgres://postgres@/${database}?host=${encodeURIComponent(dir)}&port=${port}`;
  let databases = 0;
  return {
    dir,
    url,
    /** A database's URL (from `createDatabase`) over loopback TCP instead (a server started with `tcp` only). */
    tcpUrl: (database: string) => `postgres://postgres@127.0.0.1:${port}/${database.slice(database.indexOf("@/") + 2, database.indexOf("?"))}`,
    /** A new empty database on this server, as a URL. */
    async createDatabase(): Promise<string> {
      const name = `test_${++databases}`;
      const client = new pg.Client({ connectionString: url("postgres") });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    /** Runs one query on `database` and returns its rows. */
    async query<T extends Record<string, unknown>>(database: string, text: string, values: unknown[] = []): Promise<T[]> {
      const client = new pg.Client({ connectionString: database });
      await client.connect();
      try {
        return (await client.query<T>(text, values)).rows;
      } finally {
        await client.end();
      }
    },
    /** Stops the server as a crash would (`-m immediate`: connections cut, WAL replayed at the next start); `restart()` brings it back. */
    crash() {
      run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    },
    /** Starts the server again after `crash()`, on the same socket and data. */
    restart() {
      startServer();
    },
    stop: removeServer,
  };
}
