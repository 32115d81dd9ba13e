import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, StoreOpenError, withoutPassword } from "@session-jobs/host";
import { startTestPostgres, type TestPostgres } from "../../../host/src/testUtils/testPostgres.ts";
import { CliError } from "../errors.ts";
import { asCliError, unprovenWarning } from "./hostStart.ts";

let postgres: TestPostgres;
beforeAll(async () => {
  // pg_hba.conf admits these users only: any other is refused before its role is looked at.
  postgres = await startTestPostgres({ fsync: false, admit: ["postgres", "limited", "locked_out"] });
}, 120_000);
afterAll(() => postgres?.stop());

const deployment = { chainId: 31337, marketplace: "0x5FbDB2315678afecb367f032d93F642f64180aa3", host: "0x70997970C51812dc3A010C512FbAa10A6b0a6b36" } as const;

/** What `host start` prints when the node's start fails on `url` as a node's start does (the store's error, wrapped as node.ts wraps it). */
async function startError(url: string): Promise<CliError> {
  const error = await openStore({ location: { kind: "postgres", url, poolSize: 1 }, deployment }).then(
    async (store) => {
      await store.close();
      throw new Error(`${url} opened`);
    },
    (caught: unknown) => caught as Error,
  );
  const mapped = asCliError(new StoreOpenError(withoutPassword(url), error));
  expect(mapped).toBeInstanceOf(CliError);
  return mapped as CliError;
}

describe("host start: a PostgreSQL store it cannot use is one line naming the store, and a hint", () => {
  it("nothing listening, a refused user's rights, no TLS on the server", async () => {
    const refused = await startError("postgres://hosts:s3cret@127.0.0.1:1/hosts");
    expect(refused.message).toBe("cannot open the PostgreSQL store postgres://hosts:***@127.0.0.1:1/hosts: connect ECONNREFUSED 127.0.0.1:1");
    expect(refused.hint).toBe(
      "nothing listens at the host and port of the host config's store: start PostgreSQL, or correct host:port in the host config's store",
    );

    // PostgreSQL 15+ grants nobody CREATE on schema public: a user that is not the database's owner may not make the tables.
    const url = await postgres.createDatabase();
    await postgres.query(url, "CREATE ROLE limited LOGIN");
    const limited = await startError(url.replace("postgres://postgres@", "postgres://limited@"));
    expect(limited.message).toMatch(/^cannot open the PostgreSQL store postgres:\/\/limited@\/test_\d+\?host=\S+: permission denied for schema public$/);
    expect(limited.hint).toMatch(/GRANT CREATE ON SCHEMA public/);

    const noTls = await startError(`${url}&sslmode=require`);
    expect(noTls.message).toMatch(/: The server does not support SSL connections$/);
    expect(noTls.hint).toMatch(/sslmode=disable .*sslmode=prefer/);

    const missing = await startError(url.replace(/test_\d+/, "nothing_here"));
    expect(missing.hint).toBe("create the database first (createdb), or correct its name in the host config's store");
  });

  it("a user pg_hba.conf does not admit, a user whose CONNECT privilege was revoked: what to change on the server", async () => {
    const url = await postgres.createDatabase();
    const database = /\/(test_\d+)\?/.exec(url)![1]!;
    const stranger = await startError(url.replace("postgres://postgres@", "postgres://stranger@"));
    expect(stranger.message).toMatch(/: no pg_hba\.conf entry for host "\[local\]", user "stranger", database "test_\d+", no encryption$/);
    expect(stranger.hint).toBe(
      "the PostgreSQL server's pg_hba.conf has no line admitting this user to this database from this machine (with this TLS setting): add one on the server (e.g. host <database> <user> <this machine's address>/32 scram-sha-256, above any reject line) and reload it (SELECT pg_reload_conf()), or use a user and database it admits in the host config's store",
    );

    await postgres.query(url, "CREATE ROLE locked_out LOGIN");
    await postgres.query(url, `REVOKE CONNECT ON DATABASE ${database} FROM PUBLIC`);
    const revoked = await startError(url.replace("postgres://postgres@", "postgres://locked_out@"));
    expect(revoked.message).toMatch(/: permission denied for database "test_\d+"$/);
    expect(revoked.hint).toBe(
      `the user in the host config's store has no CONNECT privilege on database "${database}": as the database's owner, GRANT CONNECT ON DATABASE "${database}" TO that user (REVOKE … FROM PUBLIC took it from every user not granted it by name)`,
    );
  });

  it("other errors keep their own words; stopping says who proves what is left", () => {
    const other = new Error("something else");
    expect(asCliError(other)).toBe(other);
    const left = { timedOut: true, leading: true, sessions: 2, tokens: 40 };
    expect(unprovenWarning(left, { kind: "sqlite", path: "/var/lib/host.sqlite" })).toBe(
      "40 signed tokens of 2 session(s) are not proven yet (the wait ran out); they are stored in /var/lib/host.sqlite and the next `host start` with this database proves them",
    );
    const store = { kind: "postgres", url: "postgres://db/hosts", poolSize: 10 } as const;
    expect(unprovenWarning({ ...left, leading: false }, store)).toBe(
      "40 signed tokens of 2 session(s) are not proven yet; this process was not leading the proofs: they are in the PostgreSQL store, and the process leading them proves them (another one still running on it, else the next `host start`)",
    );
    expect(unprovenWarning(left, store)).toMatch(
      /\(the wait ran out\); they are in the PostgreSQL store: another host process still running on it takes the proofs over/,
    );
  });
});
