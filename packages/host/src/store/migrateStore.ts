import Database from "better-sqlite3";
import pg from "pg";
import type { Address, Hex } from "viem";
import { postgresSpelling } from "./exchangeRow.ts";
import { createPostgresStore } from "./postgresStore.ts";
import { createStore } from "./sqliteStore.ts";
import type { StoreDeployment } from "./storeTypes.ts";

/** What a migration copied, table by table. */
export type StoreMigration = { deployment: StoreDeployment; sessions: number; exchanges: number; receipts: number; submissions: number };

/** Tables in the order their rows are copied (entries after the submissions they refer to). */
const tables = ["sessions", "exchanges", "receipts", "submissions", "submission_entries"] as const;

/**
 * Copies a host's SQLite database into an empty PostgreSQL database, in one transaction: every
 * session, exchange (in order, with the requests and answers kept for a sync), receipt and
 * transaction record, for the same chain, marketplace and host key. The SQLite file is locked
 * meanwhile (a running node on it refuses the migration) and left as it was; a database that
 * already holds sessions or transactions is refused. Stop the node first, migrate, then start
 * the processes with `store = "postgres://…"`.
 */
export async function migrateStore(parameters: { from: string; to: string }): Promise<StoreMigration> {
  const deployment = readDeployment(parameters.from);
  // Takes the node's lock and brings an older file up to the current schema.
  const sqlite = createStore({ path: parameters.from, deployment });
  const source = new Database(parameters.from, { readonly: true, fileMustExist: true });
  try {
    await (await createPostgresStore({ url: parameters.to, deployment })).close();
    const client = new pg.Client({ connectionString: parameters.to });
    await client.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ n: string }>("SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM submissions) AS n");
      if (rows[0]!.n !== "0") throw new Error("the PostgreSQL database already holds sessions or transactions: migrate into an empty database");
      const counts: Record<string, number> = {};
      for (const table of tables) counts[table] = await copyTable(source, client, table);
      // Later rows are numbered after the copied ones.
      await client.query("SELECT setval(pg_get_serial_sequence('exchanges', 'id'), GREATEST((SELECT max(id) FROM exchanges), 1))");
      await client.query("SELECT setval(pg_get_serial_sequence('submissions', 'id'), GREATEST((SELECT max(id) FROM submissions), 1))");
      await client.query("COMMIT");
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
    if (!chainId || !marketplace || !host) throw new Error(`${path} is not a host database (it names no chain, marketplace and host)`);
    const genesis = meta.get("genesis");
    return { chainId: Number(chainId), marketplace: marketplace as Address, host: host as Address, ...(genesis !== undefined && { genesis: genesis as Hex }) };
  } finally {
    db.close();
  }
}

/** Copies one table row by row; SQLite's rowid becomes the exchange id, so their order holds. */
async function copyTable(source: Database.Database, client: pg.Client, table: (typeof tables)[number]): Promise<number> {
  const select = table === "exchanges" ? "SELECT rowid AS id, * FROM exchanges ORDER BY rowid" : `SELECT * FROM ${table}`;
  let copied = 0;
  for (const row of source.prepare<[], Record<string, unknown>>(select).iterate()) {
    const columns = Object.keys(row);
    const values = columns.map((column) => {
      const value = row[column];
      if (column === "closed" || column === "aborted") return postgresSpelling.flag(value === 1);
      return column === "response_text" && typeof value === "string" ? postgresSpelling.answer(value) : value;
    });
    await client.query(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((_, index) => `$${index + 1}`).join(", ")})`, values);
    copied++;
  }
  return copied;
}
