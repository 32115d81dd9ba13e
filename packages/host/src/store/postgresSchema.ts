import pg from "pg";
import type { StoreDeploymentError } from "../errors.ts";
import { applyServerKeepAlive, connectionOptions } from "./postgresConnection.ts";
import { deploymentMeta, deploymentMismatch } from "./storeDeployment.ts";
import type { StoreDeployment } from "./storeTypes.ts";

/**
 * The PostgreSQL schema, version by version. A database is brought up to the newest version in one
 * transaction under an advisory lock, so that processes starting together never race to create it.
 * Counts are BIGINT and job ids and sequences NUMERIC(78) (uint256), as on chain.
 */
export const postgresMigrations: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE sessions (
     job_id NUMERIC(78) PRIMARY KEY,
     last_sequence NUMERIC(78) NOT NULL DEFAULT 0,
     served_tokens BIGINT NOT NULL DEFAULT 0,
     transcript_hash TEXT NOT NULL,
     signed_tokens BIGINT NOT NULL DEFAULT 0,
     proven_tokens BIGINT NOT NULL DEFAULT 0,
     checkpoint_interval BIGINT NOT NULL,
     last_activity_ms BIGINT NOT NULL,
     closed BOOLEAN NOT NULL DEFAULT false
   );
   CREATE INDEX sessions_open ON sessions (job_id) WHERE NOT closed;
   CREATE TABLE exchanges (
     id BIGSERIAL PRIMARY KEY,
     job_id NUMERIC(78) NOT NULL,
     sequence NUMERIC(78) NOT NULL,
     prompt_tokens BIGINT NOT NULL,
     completion_tokens BIGINT NOT NULL,
     cumulative_tokens BIGINT NOT NULL,
     transcript_hash TEXT NOT NULL,
     aborted BOOLEAN NOT NULL,
     created_ms BIGINT NOT NULL,
     previous_transcript_hash TEXT,
     request_body BYTEA,
     request_signature TEXT,
     response_text TEXT,
     UNIQUE (job_id, sequence)
   );
   CREATE INDEX exchanges_by_count ON exchanges (job_id, cumulative_tokens);
   CREATE TABLE receipts (
     job_id NUMERIC(78) NOT NULL,
     cumulative_tokens BIGINT NOT NULL,
     transcript_hash TEXT NOT NULL,
     signature TEXT NOT NULL,
     received_ms BIGINT NOT NULL,
     PRIMARY KEY (job_id, cumulative_tokens)
   );
   CREATE TABLE submissions (
     id BIGSERIAL PRIMARY KEY,
     kind TEXT NOT NULL,
     status TEXT NOT NULL,
     nonce BIGINT NOT NULL,
     tx_hash TEXT NOT NULL UNIQUE,
     raw_tx TEXT NOT NULL,
     error TEXT,
     created_ms BIGINT NOT NULL,
     updated_ms BIGINT NOT NULL
   );
   CREATE INDEX submissions_by_status ON submissions (status);
   CREATE TABLE submission_entries (
     submission_id BIGINT NOT NULL REFERENCES submissions (id),
     job_id NUMERIC(78) NOT NULL,
     cumulative_tokens BIGINT NOT NULL,
     tokens_in_batch BIGINT NOT NULL,
     PRIMARY KEY (submission_id, job_id)
   );
   CREATE INDEX submission_entries_by_job ON submission_entries (job_id);`,
  `ALTER TABLE sessions ADD COLUMN closing_until_ms BIGINT NOT NULL DEFAULT 0;`,
  // TEXT cannot hold U+0000, which a model may write: an answer with one could be served but never recorded.
  `ALTER TABLE exchanges ALTER COLUMN response_text TYPE BYTEA USING convert_to(response_text, 'UTF8');`,
  // The close whose mark it is: a failed close clears only its own (a compare-and-set), never one another process set since.
  `ALTER TABLE sessions ADD COLUMN closing_lease TEXT;`,
  // A session closed for a refused receipt, not yet settled: the settlement is owed whichever process closed it, across deaths.
  `ALTER TABLE sessions ADD COLUMN settlement_due BOOLEAN NOT NULL DEFAULT false;
   CREATE INDEX sessions_settlement_due ON sessions (job_id) WHERE settlement_due;`,
];

/**
 * {@link preparePostgresSchema} on a connection of its own, without the pool's query timeout: a
 * migration, or waiting for another process's, may be long.
 */
export async function preparePostgresSchemaAt(
  url: string,
  connection: { applicationName: string; connectTimeoutMs: number },
  deployment: StoreDeployment,
): Promise<void> {
  const client = new pg.Client({
    connectionString: url,
    application_name: `${connection.applicationName} schema`,
    ...connectionOptions({ connectTimeoutMs: connection.connectTimeoutMs }),
  });
  // A connection lost while the schema is set up fails its query; the event must not go unheard.
  client.on("error", () => undefined);
  try {
    await client.connect();
    await applyServerKeepAlive(client);
    await preparePostgresSchema(client, deployment);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Brings the database up to the newest schema and checks that it belongs to `deployment`. */
export async function preparePostgresSchema(client: pg.ClientBase, deployment: StoreDeployment): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('session-jobs:schema', 0))");
    await client.query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const { rows } = await client.query<{ version: number }>("SELECT version FROM schema_version");
    const current = rows[0]?.version ?? 0;
    if (current > postgresMigrations.length)
      throw new Error(`the database's schema is version ${current}, newer than this node's ${postgresMigrations.length}: upgrade the node`);
    for (let version = current; version < postgresMigrations.length; version++) await client.query(postgresMigrations[version]!);
    if (rows.length === 0) await client.query("INSERT INTO schema_version VALUES ($1)", [postgresMigrations.length]);
    else await client.query("UPDATE schema_version SET version = $1", [postgresMigrations.length]);
    const mismatch = await checkDeployment(client, deployment);
    if (mismatch) throw mismatch;
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

async function checkDeployment(client: pg.ClientBase, deployment: StoreDeployment): Promise<StoreDeploymentError | undefined> {
  for (const [key, value] of deploymentMeta(deployment)) {
    const { rows } = await client.query<{ value: string }>("SELECT value FROM meta WHERE key = $1", [key]);
    const stored = rows[0]?.value;
    if (stored === undefined) await client.query("INSERT INTO meta (key, value) VALUES ($1, $2)", [key, value]);
    else if (stored !== value) return deploymentMismatch({ kind: "postgres" }, deployment, key, stored, value);
  }
  return undefined;
}
