import { percentEncodeHint } from "@session-jobs/host";

/**
 * What to do about a PostgreSQL store that could not be reached or used, from the driver's error
 * (its code, or for a few, its words): one hint, naming the `store` key to change.
 */
export function storeErrorHint(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error.message;
  if (code === "ECONNREFUSED") return "nothing listens at the store's host and port: start PostgreSQL, or correct host:port in store";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the store's host name does not resolve: correct the host in store";
  if (code === "ETIMEDOUT" || code === "EHOSTUNREACH" || /timeout expired|connection timeout/i.test(message))
    return "the server did not answer in time: check the address in store, and any firewall between this machine and PostgreSQL";
  if (code === "28P01" || code === "28000") return "PostgreSQL refused the user or password in store (percent-encode special characters in the password)";
  if (code === "3D000") return "create the database first (createdb), or correct its name in store";
  if (code === "42501")
    return "the store's user may not create tables: make it the database's owner, or GRANT CREATE ON SCHEMA public TO it (PostgreSQL 15+ no longer grants it to everyone)";
  if (/does not support SSL/i.test(message))
    return "the server has no TLS: add ?sslmode=disable to store (node-pg does not fall back to plain text as libpq's default sslmode=prefer does; with TLS use sslmode=require or verify-full)";
  if (/self[- ]signed|unable to verify|certificate/i.test(message) || /CERT|SELF_SIGNED/.test(code ?? ""))
    return "the server's certificate is not trusted: give its CA with sslrootcert=/path/ca.pem and sslmode=verify-full in store";
  if (error instanceof TypeError && /Invalid URL/i.test(message)) return `store is not a valid URL: ${percentEncodeHint}`;
  return "check that the PostgreSQL database in store is reachable and that its user may create tables there";
}
