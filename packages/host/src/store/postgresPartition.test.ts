/**
 * A network partition between a host process and PostgreSQL: packets dropped, no FIN, no RST (a
 * relay that stops forwarding without closing anything). A query in flight fails within the
 * store's query timeout as `storage_unavailable`; the lock connection's heartbeat announces its loss
 * and the proof lead is given up; the store reconnects once the network is back. Every connection
 * asks the server for short TCP keep-alives, so that the server ends a vanished process's session,
 * and frees its locks, within seconds instead of the system's 2 hours: checked with SHOW over TCP,
 * as a relay's kernel would answer the server's probes itself.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCuttableProxy } from "../testUtils/cuttableProxy.ts";
import { deployment, exchange, hash } from "../testUtils/storeFixtures.ts";
import { postgresStartTimeoutMs, startTestPostgres, type TestPostgres } from "../testUtils/testPostgres.ts";
import { postgresTimeouts } from "./postgresConnection.ts";
import { openStore } from "./openStore.ts";
import { createPostgresStore } from "./postgresStore.ts";

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres({ fsync: false, tcp: true });
}, postgresStartTimeoutMs);
afterAll(() => postgres?.stop());

/**
 * What `promise` came to, or "still waiting" after 10 s: far above the timeouts under test (a few
 * hundred ms), below the defaults (15 s for a query), so that a short bound lost on its way to the
 * connection shows as a hang, as no bound at all does.
 */
const settled = (promise: Promise<unknown>) =>
  Promise.race([
    promise.then(
      () => "done",
      (error: unknown) => error,
    ),
    new Promise((resolve) => setTimeout(() => resolve("still waiting"), 10_000)),
  ]);

/** Short bounds, so that a test waits for nothing long; the lock connection's heartbeat is left at its default unless a test is about it. */
const short = { deployment, poolSize: 2, connectTimeoutMs: 500, queryTimeoutMs: 300, leaderRetryMs: 50 };

describe("PostgreSQL store across a network partition", () => {
  it("fails a read and a write whose answers the partition swallows with storage_unavailable, within the configured query timeout", async () => {
    const proxy = await startCuttableProxy(postgres.tcpUrl(await postgres.createDatabase()));
    // Opened as the host opens it, from its configuration's storeQueryTimeoutMs.
    const store = await openStore({ location: { kind: "postgres", url: proxy.url, poolSize: 2, queryTimeoutMs: 300 }, deployment, leaderRetryMs: 50 });
    try {
      await store.ensureSession(1n, 100);
      // Both pooled connections made before the partition, so that the write's query, not a new connection, meets it.
      await Promise.all([store.session(1n), store.session(1n)]);
      proxy.silence();
      expect(await settled(Promise.resolve(store.session(1n)))).toMatchObject({ code: "storage_unavailable", message: expect.stringMatching(/retry later/) });
      const append = store.appendExchange({
        ...exchange,
        sequence: 1n,
        promptTokens: 1,
        completionTokens: 1,
        cumulativeTokens: 2,
        transcriptHash: hash("01"),
      });
      expect(await settled(Promise.resolve(append))).toMatchObject({ code: "storage_unavailable" });
      // The network back, the store serves again on fresh connections.
      proxy.mend();
      await expect.poll(async () => await settled(Promise.resolve(store.session(1n))), { timeout: 60_000 }).toBe("done");
    } finally {
      await settled(store.close());
      await proxy.close();
    }
  }, 120_000);

  it("announces the lost lock connection through its heartbeat and gives the proof lead up, then reconnects once the network is back", async () => {
    const proxy = await startCuttableProxy(postgres.tcpUrl(await postgres.createDatabase()));
    const faults: string[] = [];
    let recovered = 0;
    const store = await createPostgresStore({
      ...short,
      url: proxy.url,
      heartbeat: { intervalMs: 200, timeoutMs: 150 },
      onFault: (fault) => void faults.push(fault),
      onRecovered: () => void recovered++,
    });
    const stop = new AbortController();
    try {
      const leads: AbortSignal[] = [];
      await store.locks.leadProofs(async (lost) => void leads.push(lost), stop.signal);
      expect(leads).toHaveLength(1);
      const turn = await store.locks.session(2n);
      expect(turn.held()).toBe(true);
      proxy.silence();
      // Nothing closes the connection: only the heartbeat can tell.
      const lost = new Promise((resolve) => leads[0]!.addEventListener("abort", resolve));
      expect(await settled(lost)).toBe("done");
      expect(faults).toEqual([expect.stringMatching(/lock connection stopped answering/)]);
      expect(turn.held()).toBe(false);
      expect(() => store.assertWritable()).toThrow(expect.objectContaining({ code: "storage_unavailable" }));
      // A lock asked for meanwhile is refused, not waited for.
      expect(await settled(store.locks.session(1n))).toMatchObject({ code: "storage_unavailable" });
      proxy.mend();
      await expect.poll(() => recovered, { timeout: 60_000 }).toBe(1);
      // A lock taken on the lost connection stays lost: what it guarded must not take its final step.
      expect(turn.held()).toBe(false);
      const again = await store.locks.session(2n);
      expect(again.held()).toBe(true);
      again();
      await expect.poll(() => leads.length, { timeout: 60_000 }).toBe(2);
    } finally {
      stop.abort();
      await settled(store.close());
      await proxy.close();
    }
  }, 120_000);

  it("fails a lock asked for on a silenced lock connection with storage_unavailable before the heartbeat tells, instead of waiting", async () => {
    const proxy = await startCuttableProxy(postgres.tcpUrl(await postgres.createDatabase()));
    // The heartbeat far apart: the lock's own query times out first.
    const store = await createPostgresStore({ ...short, url: proxy.url, heartbeat: { intervalMs: 60_000, timeoutMs: 300 } });
    try {
      proxy.silence();
      expect(await settled(store.locks.chainWriter())).toMatchObject({ code: "storage_unavailable", message: expect.stringMatching(/retry later/) });
    } finally {
      await settled(store.close());
      await proxy.close();
    }
  }, 120_000);

  it("leaves no lock held that it does not know of: a lock granted after its query gave up, or a release that never reached the server", async () => {
    const url = postgres.tcpUrl(await postgres.createDatabase());
    const proxy = await startCuttableProxy(url);
    const store = await createPostgresStore({ ...short, url: proxy.url, heartbeat: { intervalMs: 60_000, timeoutMs: 300 } });
    const other = await createPostgresStore({ ...short, url });
    try {
      const writer = await store.locks.chainWriter();
      // A slow network: the server's answers arrive, late.
      proxy.hold();
      const late = store.locks.session(9n);
      // Released while the lock query waits: its unlock queues behind it.
      writer();
      expect(await settled(late)).toMatchObject({ code: "storage_unavailable" });
      proxy.mend();
      // The server granted session 9 and never heard the release: both stayed with this process's
      // lock connection, which answered its heartbeats, so no other process could take them.
      expect(await settled(other.locks.chainWriter().then((release) => release()))).toBe("done");
      expect(await settled(other.locks.session(9n).then((release) => release()))).toBe("done");
    } finally {
      await settled(store.close());
      await settled(other.close());
      await proxy.close();
    }
  }, 120_000);

  it("asks the server to probe every connection after 10 s of silence and end it after 25 s, over TCP", async () => {
    const url = postgres.tcpUrl(await postgres.createDatabase());
    // Every pg client this store makes, to ask each for its session's settings.
    const clients = new Set<pg.Client>();
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: Parameters<typeof query>) {
      clients.add(this);
      return query.apply(this, args);
    } as typeof query;
    const store = await createPostgresStore({ ...short, url });
    try {
      try {
        await store.ensureSession(1n, 100);
      } finally {
        pg.Client.prototype.query = query;
      }
      const setting = async (client: pg.Client, name: string) => (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name];
      // The schema's own connection, ended once the schema is set up, answers no more.
      const named = await Promise.all([...clients].map(async (client) => ({ client, name: await setting(client, "application_name").catch(() => "ended") })));
      const open = named.filter(({ name }) => name !== "ended").sort((a, b) => a.name!.localeCompare(b.name!));
      expect(open.map(({ name }) => name)).toEqual([expect.stringMatching(/pid=\d+$/), expect.stringMatching(/pid=\d+ locks$/)]);
      const show = new pg.Client({ connectionString: url });
      await show.connect();
      try {
        for (const { client } of open) {
          expect(await setting(client, "tcp_keepalives_idle")).toBe("10");
          expect(await setting(client, "tcp_keepalives_interval")).toBe("5");
          expect(await setting(client, "tcp_keepalives_count")).toBe("3");
          expect(await setting(client, "tcp_user_timeout")).toBe("25000");
        }
        // Someone else's connection keeps the system's default (2 hours on Linux): the settings are the store's own.
        expect((await show.query<{ tcp_keepalives_idle: string }>("SHOW tcp_keepalives_idle")).rows[0]!.tcp_keepalives_idle).not.toBe("10");
      } finally {
        await show.end();
      }
      // The ordering that makes the proof lock safe (postgresConnection.ts): a holder gives up before the server lets go.
      expect(postgresTimeouts.serverDropMs).toBe(25_000);
      expect(postgresTimeouts.heartbeat.intervalMs + postgresTimeouts.heartbeat.timeoutMs).toBeLessThan(postgresTimeouts.serverDropMs);
    } finally {
      await store.close();
    }
  }, 120_000);
});
