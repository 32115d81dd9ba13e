import Database from "better-sqlite3";
import type pg from "pg";
import type { Address, Hex } from "viem";
import { HostLockError, StoreDeploymentError, StoreOpenError } from "../errors.ts";
import { postgresSpelling } from "./exchangeRow.ts";
import { connectClient } from "./connectClient.ts";
import { writeMigrationMark, type MigrationMark } from "./migrationMark.ts";
import { createPostgresStore } from "./postgresStore.ts";
import { createStore } from "./sqliteStore.ts";
import { withoutPassword } from "./storeUrl.ts";
import type { StoreDeployment } from "./storeTypes.ts";

/** What a migration copied, table by table. */
export type StoreMigration = { deployment: StoreDeployment; sessions: number; exchanges: number; receipts: number; submissions: number };

/** Tables in the order their rows are copied (entries after the submissions they refer to). */
const tables = ["sessions", "exchanges", "receipts", "submissions", "submission_entries"] as const;

/** Rows copied so far, told after each batch. */
export type MigrationProgress = { table: (typeof tables)[number]; copied: number; of: number };

/** Rows sent in one INSERT, and the bytes of text and blobs one may carry (exchanges keep requests and answers). */
const batchRows = 500;
const batchBytes = 4 * 1024 * 1024;

/** The copy was stopped (`signal`): the transaction was rolled back, PostgreSQL holds nothing of it, the SQLite file is as it was. */
export class MigrationAbortedError extends Error {
  override readonly name = "MigrationAbortedError";
  constructor() {
    super("the migration was stopped: nothing was copied, the SQLite file is as it was");
  }
}

/** PostgreSQL holds the whole copy, but the SQLite file could not be marked: nothing stops a node on it but the operator. */
export class MigrationMarkError extends Error {
  override readonly name = "MigrationMarkError";
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`copied, but ${path} could not be marked as migrated (${(cause as Error).message}): never start a node on it again, only on PostgreSQL`, {
      cause,
    });
  }
}

/**
 * Copies a host's SQLite database into an empty PostgreSQL database, in one transaction: every
 * session, exchange (in order, with the requests and answers kept for a sync), receipt and
 * transaction record, for the same chain, marketplace and host key. The SQLite file is locked
 * meanwhile (a running node on it refuses the migration) and left as it was; a database that
 * already holds sessions or transactions is refused. Once PostgreSQL has committed the copy, the
 * SQLite file is marked as migrated (where to, without the password, and when): a node no longer
 * opens it, so that it cannot serve and prove next to the PostgreSQL processes
 * (`reopenMigratedSqlite` takes the mark off). Stop the node first, migrate, then start the
 * processes with `store = "postgres://…"`. A `signal` aborted before the commit rolls the copy back.
 */
export async function migrateStore(parameters: {
  from: string;
  to: string;
  signal?: AbortSignal;
  onProgress?: (progress: MigrationProgress) => void;
  /** The time recorded in the mark; default now. */
  now?: () => Date;
}): Promise<StoreMigration> {
  const { deployment, sqlite, source } = openSource(parameters.from);
  try {
    // First the copy's own connection, which the signal stops at once (a server that accepts and never answers).
    const client = await connectClient({
      url: parameters.to,
      applicationName: "session-jobs migrate-store",
      connectTimeoutMs: 10_000,
      signal: parameters.signal,
      stopped: () => new MigrationAbortedError(),
    }).catch((error: unknown) => {
      throw targetError(parameters.to, error);
    });
    try {
      const target = await createPostgresStore({ url: parameters.to, deployment }).catch((error: unknown) => {
        throw targetError(parameters.to, error);
      });
      await target.close();
      await client.query("BEGIN");
      const { rows } = await client.query<{ n: string }>("SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM submissions) AS n");
      if (rows[0]!.n !== "0") throw new Error("the PostgreSQL database already holds sessions or transactions: migrate into an empty database");
      const counts: Record<string, number> = {};
      for (const table of tables) counts[table] = await copyTable(source, client, table, parameters);
      // Later rows are numbered after the copied ones.
      await client.query("SELECT setval(pg_get_serial_sequence('exchanges', 'id'), GREATEST((SELECT max(id) FROM exchanges), 1))");
      await client.query("SELECT setval(pg_get_serial_sequence('submissions', 'id'), GREATEST((SELECT max(id) FROM submissions), 1))");
      if (parameters.signal?.aborted) throw new MigrationAbortedError();
      await client.query("COMMIT");
      markMigrated(parameters.from, { to: withoutPassword(parameters.to), at: (parameters.now ?? (() => new Date()))().toISOString() });
      return { deployment, sessions: counts.sessions!, exchanges: counts.exchanges!, receipts: counts.receipts!, submissions: counts.submissions! };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      await client.end();
    }
  } finally {
    source.close();
    await sqlite.close();
  }
}

/**
 * A target that cannot be reached or used is a {@link StoreOpenError} naming it (as `host start`
 * reports one); a stop, and another deployment's records, keep their own errors.
 */
function targetError(url: string, error: unknown): unknown {
  const own = error instanceof MigrationAbortedError || error instanceof StoreDeploymentError || !(error instanceof Error);
  return own ? error : new StoreOpenError(withoutPassword(url), error);
}

/** The file cannot be opened or read (missing, not readable or writable by this user, not SQLite): PostgreSQL was not touched. */
export class MigrationSourceError extends Error {
  override readonly name = "MigrationSourceError";
  constructor(
    readonly path: string,
    cause: Error,
  ) {
    super(`cannot open the SQLite database ${path}: ${cause.message}`, { cause });
  }
}

/**
 * The SQLite file, locked (a running node refuses the migration) and brought up to the current
 * schema, and a read-only connection to copy from. A failure to open or read it is a
 * {@link MigrationSourceError}; a lock held, another deployment or a migrated file keep their own errors.
 */
function openSource(path: string) {
  let sqlite: ReturnType<typeof createStore> | undefined;
  try {
    const deployment = readDeployment(path);
    sqlite = createStore({ path, deployment });
    return { deployment, sqlite, source: new Database(path, { readonly: true, fileMustExist: true }) };
  } catch (error) {
    void sqlite?.close();
    throw error instanceof HostLockError || error instanceof StoreDeploymentError ? error : new MigrationSourceError(path, error as Error);
  }
}

/** The deployment the SQLite file was made for (its meta table). */
function readDeployment(path: string): StoreDeployment {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const meta = new Map(
      db
        .prepare<[], { key: string; value: string }>("SELECT key, value FROM meta")
        .all()
        .map((row) => [row.key, row.value]),
    );
    const [chainId, marketplace, host] = [meta.get("chainId"), meta.get("marketplace"), meta.get("host")];
    if (!chainId || !marketplace || !host) throw new Error("not a host database (it names no chain, marketplace and host)");
    const genesis = meta.get("genesis");
    return { chainId: Number(chainId), marketplace: marketplace as Address, host: host as Address, ...(genesis !== undefined && { genesis: genesis as Hex }) };
  } finally {
    db.close();
  }
}

/** Marks the SQLite file migrated (its own connection, under the lock migrateStore holds). */
function markMigrated(path: string, mark: MigrationMark): void {
  const db = new Database(path, { fileMustExist: true });
  try {
    writeMigrationMark(db, mark);
  } catch (error) {
    throw new MigrationMarkError(path, error);
  } finally {
    db.close();
  }
}

/**
 * Copies one table in batches of rows (one INSERT each); SQLite's rowid becomes the exchange id, so
 * their order holds. Stops between batches when `signal` is aborted.
 */
async function copyTable(
  source: Database.Database,
  client: pg.Client,
  table: (typeof tables)[number],
  options: { signal?: AbortSignal; onProgress?: (progress: MigrationProgress) => void },
): Promise<number> {
  const select = table === "exchanges" ? "SELECT rowid AS id, * FROM exchanges ORDER BY rowid" : `SELECT * FROM ${table}`;
  const of = source.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
  let copied = 0;
  let batch: unknown[][] = [];
  let bytes = 0;
  let columns: string[] = [];
  const flush = async () => {
    if (options.signal?.aborted) throw new MigrationAbortedError();
    if (batch.length === 0) return;
    const rows = batch.map((_, row) => `(${columns.map((__, column) => `$${row * columns.length + column + 1}`).join(", ")})`);
    await client.query(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${rows.join(", ")}`, batch.flat());
    copied += batch.length;
    batch = [];
    bytes = 0;
    options.onProgress?.({ table, copied, of });
  };
  for (const row of source.prepare<[], Record<string, unknown>>(select).iterate()) {
    columns = Object.keys(row);
    const values = columns.map((column) => {
      const value = row[column];
      if (column === "closed" || column === "aborted" || column === "settlement_due") return postgresSpelling.flag(value === 1);
      return column === "response_text" && typeof value === "string" ? postgresSpelling.answer(value) : value;
    });
    batch.push(values);
    bytes += values.reduce<number>((sum, value) => sum + (typeof value === "string" || Buffer.isBuffer(value) ? value.length : 8), 0);
    if (batch.length >= batchRows || bytes >= batchBytes) await flush();
  }
  await flush();
  return copied;
}
