import { percentEncodeHint } from "@session-jobs/host";

/**
 * Where the command was given the PostgreSQL store: `host start` reads it from the config,
 * `host migrate-store` from `--to`, and its roll-back from `--to` or else the file's migration mark.
 */
export type StoreSetting = "store" | "--to" | "mark";

const settingNames: Record<StoreSetting, string> = {
  store: "the host config's store",
  "--to": "--to",
  mark: "the URL the file's migration mark names (--to gives another)",
};

/**
 * What to do about a PostgreSQL store that could not be reached or used, from the driver's error
 * (its code, or for a few, its words): one hint, naming the setting to change, or what to change
 * on the server when the URL is not at fault (pg_hba.conf, a role's LOGIN, a revoked CONNECT).
 */
export function storeErrorHint(error: Error, setting: StoreSetting): string {
  const at = settingNames[setting];
  const code = (error as NodeJS.ErrnoException).code;
  const message = error.message;
  if (code === "ECONNREFUSED") return `nothing listens at the host and port of ${at}: start PostgreSQL, or correct host:port in ${at}`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `the host name in ${at} does not resolve: correct it`;
  if (code === "ETIMEDOUT" || code === "EHOSTUNREACH" || /timeout expired|connection timeout/i.test(message))
    return `the server did not answer in time: check the address in ${at}, and any firewall between this machine and PostgreSQL`;
  if (code === "28P01") return `PostgreSQL refused the user or password in ${at} (percent-encode special characters in the password)`;
  if (code === "28000") return authorizationHint(message, at);
  if (code === "3D000") return `create the database first (createdb), or correct its name in ${at}`;
  if (code === "42501") return privilegeHint(message, at);
  if (/does not support SSL/i.test(message))
    return `the server has no TLS: add ?sslmode=disable to ${at} (node-pg does not fall back to plain text as libpq's default sslmode=prefer does; with TLS use sslmode=require or verify-full)`;
  if (/self[- ]signed|unable to verify|certificate/i.test(message) || /CERT|SELF_SIGNED/.test(code ?? ""))
    return `the server's certificate is not trusted: give its CA with sslrootcert=/path/ca.pem and sslmode=verify-full in ${at}`;
  if (error instanceof TypeError && /Invalid URL/i.test(message)) return `${at} is not a valid URL: ${percentEncodeHint}`;
  return `check that the PostgreSQL database in ${at} is reachable and that its user may create tables there`;
}

/** SQLSTATE 28000: the server let the user in nowhere (pg_hba.conf), or its role may not log in or does not exist; no password is at fault. */
function authorizationHint(message: string, at: string): string {
  if (/pg_hba\.conf/.test(message))
    return `the PostgreSQL server's pg_hba.conf has no line admitting this user to this database from this machine (with this TLS setting): add one on the server (e.g. host <database> <user> <this machine's address>/32 scram-sha-256, above any reject line) and reload it (SELECT pg_reload_conf()), or use a user and database it admits in ${at}`;
  const role = /role ("(?:[^"]|"")*")/.exec(message)?.[1];
  if (role && /not permitted to log in/.test(message))
    return `the user in ${at} is a role without LOGIN: ALTER ROLE ${role} LOGIN on the server (as a superuser), or use a user that may log in`;
  if (role && /does not exist/.test(message))
    return `the server has no user ${role}: create it (CREATE ROLE ${role} LOGIN PASSWORD '…'), or correct the user in ${at}`;
  return `PostgreSQL would not authenticate the user in ${at}: check the method of its line in the server's pg_hba.conf (peer and ident admit only the operating-system user of the same name)`;
}

/** SQLSTATE 42501: a privilege the store's user lacks, at connection (CONNECT) or when the tables are made (CREATE). */
function privilegeHint(message: string, at: string): string {
  const database = /permission denied for database ("(?:[^"]|"")*")/.exec(message)?.[1];
  if (database)
    return `the user in ${at} has no CONNECT privilege on database ${database}: as the database's owner, GRANT CONNECT ON DATABASE ${database} TO that user (REVOKE … FROM PUBLIC took it from every user not granted it by name)`;
  if (/for schema/.test(message))
    return `the user in ${at} may not create tables: make it the database's owner, or GRANT CREATE ON SCHEMA public TO it (PostgreSQL 15+ no longer grants it to everyone)`;
  return `the user in ${at} lacks a privilege on the store's tables: use the user that created them (their owner), or make it the database's owner`;
}
