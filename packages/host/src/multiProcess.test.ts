/**
 * Several host processes on one PostgreSQL store, one anvil chain: clients spread over the
 * processes (each session's requests and receipts hit a different process each time), the
 * process submitting proofs is killed with SIGKILL mid-way, and still every signed receipt is
 * proven exactly once and every session settles to the wei (docs/failure-model.md).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveHostConfig, type HostConfigInput } from "./config/config.ts";
import { registerHost } from "./chain/register.ts";
import {
  closeExactly,
  isAlive,
  pendingTransactions,
  proofLeader,
  startHostProcess,
  untilServed,
  type ClusterSession,
  type HostProcess,
} from "./testUtils/hostCluster.ts";
import { sendContractReceipt, signerCode } from "./testUtils/contractSigner.ts";
import { startTestChain, type TestChain } from "./testUtils/testChain.ts";
import { createTestClient } from "./testUtils/testClient.ts";
import { startTestPostgres, type TestPostgres } from "./testUtils/testPostgres.ts";

const price = 2_000_000_000n;
const interval = 100n;
let chain: TestChain;
let postgres: TestPostgres;
let database: string;
let input: HostConfigInput;
const hosts: HostProcess[] = [];

// Tokens come 5 ms apart, so that two requests of one session overlap when they race.
const startHost = () => startHostProcess(input, 5);

const proofLeaderPid = async () => (await proofLeader(postgres, database))?.pid;

beforeAll(async () => {
  [chain, postgres] = await Promise.all([startTestChain(), startTestPostgres({ fsync: false })]);
  database = await postgres.createDatabase();
  input = chain.hostConfigInput({ store: database, storePoolSize: 4, batch: { delayMs: 100, maxJobs: 10 } });
  // A close waits for its transaction this long (and holds the session against new work twice that):
  // far beyond what a test waits while the chain does not mine, however loaded the machine.
  input.chain = { ...input.chain, receiptTimeoutMs: 120_000 };
  expect((await registerHost({ config: resolveHostConfig(input) })).action).toBe("registered");
  hosts.push(...(await Promise.all([startHost(), startHost(), startHost()])));
}, 180_000);

afterAll(async () => {
  for (const host of hosts) host.child.kill("SIGKILL");
  await Promise.all(hosts.map((host) => host.exited));
  postgres?.stop();
  await chain?.stop();
});

const alive = () => hosts.filter(isAlive);

/** Calls anvil's own RPC (automine, mining). */
async function anvilRpc(method: string, params: unknown[] = []): Promise<void> {
  const response = await fetch(chain.anvil.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  expect(((await response.json()) as { error?: unknown }).error).toBeUndefined();
}

const ask = (content: string) => ({ messages: [{ role: "user", content }], max_tokens: 30, stream: true });

/** Opens `count` sessions with the host, each with a client pointed at the first live process. */
async function openSessions(count: number): Promise<ClusterSession[]> {
  const host = resolveHostConfig(input).account.address;
  const sessions: ClusterSession[] = [];
  for (let index = 0; index < count; index++) {
    const opened = await chain.openSession({ host, pricePerToken: price, deposit: 10n ** 15n, proofInterval: interval });
    sessions.push({ ...opened, client: createTestClient({ url: alive()[0]!.url, jobId: opened.jobId, sessionKey: opened.sessionKey, domain: chain.domain }) });
  }
  return sessions;
}

/**
 * Each session asks and signs `rounds` times, its requests and receipts going to a different live
 * process each time; with `retryUnavailable`, a 503 is sent again (a fault the test causes).
 */
function converse(sessions: ClusterSession[], rounds: number, offset: number, options: { retryUnavailable: boolean }) {
  const send = <T extends { status: number }>(attempt: () => Promise<T>) => (options.retryUnavailable ? untilServed(attempt) : attempt());
  return Promise.all(
    sessions.map(async ({ client }, index) => {
      for (let round = 0; round < rounds; round++) {
        const serving = alive();
        client.url = serving[(index + round + offset) % serving.length]!.url;
        const answer = await send(() => client.chat(ask(`request ${round} of session ${index}`)));
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        client.url = serving[(index + round + offset + 1) % serving.length]!.url;
        expect((await send(() => client.sendReceipt())).status).toBe(200);
      }
    }),
  );
}

/** The processes, store and chain that {@link closeExactly} checks against. */
const cluster = () => ({ chain, postgres, database, price, alive });

/** Every session proven at least once (each passed one interval): the leader proves them. */
const allProven = (sessions: ClusterSession[]) =>
  expect
    .poll(async () => Promise.all(sessions.map(async ({ jobId }) => (await chain.session(jobId)).provenTokens > 0n)), { timeout: 60_000 })
    .toEqual(sessions.map(() => true));

describe("host processes sharing one PostgreSQL store", () => {
  it("serve sessions spread over all processes, survive the proof submitter's SIGKILL, and prove and settle every signed token exactly once", async () => {
    const sessions = await openSessions(6);
    await converse(sessions, 4, 0, { retryUnavailable: false });
    await allProven(sessions);

    // Two requests of one session built on the same transcript reach two processes: the second
    // arrives while the first still streams, waits for the session's turn, and is refused.
    const [first] = sessions;
    first!.client.url = hosts[2]!.url;
    const streaming = await first!.client.post("/v1/chat/completions", ask("one"));
    expect(streaming.status).toBe(200);
    const twin = createTestClient({ url: hosts[1]!.url, jobId: first!.jobId, sessionKey: first!.sessionKey, domain: chain.domain });
    Object.assign(twin, { sequence: first!.client.sequence, transcriptHash: first!.client.transcriptHash });
    const refused = await twin.chat(ask("two"));
    await streaming.text();
    expect([refused.status, refused.body.error?.code]).toEqual([409, "session_out_of_sync"]);
    // The client missed the first answer's end (it never read it): it recovers through sync, then signs.
    first!.client.sequence = twin.sequence;
    const synced = await first!.client.sync();
    expect(synced.status).toBe(200);
    first!.client.followSync(await synced.json());
    expect((await first!.client.sendReceipt()).status).toBe(200);

    // The process holding the proof lock dies without a word.
    const leader = await proofLeaderPid();
    const killed = hosts.find((host) => host.pid === leader)!;
    expect(killed).toBeDefined();
    killed.child.kill("SIGKILL");
    await killed.exited;

    await converse(sessions, 3, 1, { retryUnavailable: false });
    // A survivor takes the proof lock over and proves the receipts due since.
    await expect.poll(proofLeaderPid, { timeout: 60_000 }).toSatisfy((pid) => pid !== undefined && pid !== leader);

    // Every session settles exactly, each proven more than once (before and after the SIGKILL).
    for (const proven of await closeExactly(cluster(), sessions)) expect(proven.length).toBeGreaterThanOrEqual(2);
    // The shared store agrees: every session closed and pruned.
    expect((await postgres.query<{ n: string }>(database, "SELECT count(*) AS n FROM sessions WHERE NOT closed"))[0]!.n).toBe("0");
  }, 240_000);

  it("refuse a session on every process while one closes it, also after the closer dies with its transaction unmined, until the close settles", async () => {
    const [closer, other] = alive();
    const host = resolveHostConfig(input).account.address;
    const opened = await chain.openSession({ host, pricePerToken: price, deposit: 10n ** 15n, proofInterval: interval });
    const client = createTestClient({ url: other!.url, jobId: opened.jobId, sessionKey: opened.sessionKey, domain: chain.domain });
    expect((await client.chat(ask("before the close"))).status).toBe(200);
    expect((await client.sendReceipt()).status).toBe(200);
    const signed = client.cumulativeTokens;

    // The chain stops mining: the close begun on one process waits for its transaction.
    await anvilRpc("evm_setAutomine", [false]);
    try {
      client.url = closer!.url;
      const closing = client.post("/v1/session/close", { jobId: opened.jobId.toString() }).catch(() => undefined);
      const settlementSent = async () =>
        (
          await postgres.query<{ n: string }>(
            database,
            `SELECT count(*) AS n FROM submissions s JOIN submission_entries e ON e.submission_id = s.id
             WHERE e.job_id = $1 AND s.kind IN ('final', 'complete') AND s.status = 'sent'`,
            [opened.jobId.toString()],
          )
        )[0]!.n;
      await expect.poll(settlementSent, { timeout: 60_000 }).toBe("1");
      // Another process refuses the session at once, without waiting for the closer's turn.
      client.url = other!.url;
      const refused = await client.chat(ask("while closing"));
      expect([refused.status, refused.body.error?.code, refused.body.error?.message]).toEqual([
        409,
        "session_not_active",
        `session ${opened.jobId} is closing`,
      ]);

      // The closer dies while its transaction waits to be mined: the survivors still refuse the session.
      closer!.child.kill("SIGKILL");
      await closer!.exited;
      await closing;
      const stillRefused = await client.chat(ask("after the closer died"));
      expect([stillRefused.status, stillRefused.body.error?.code]).toEqual([409, "session_not_active"]);

      await anvilRpc("evm_mine");
    } finally {
      await anvilRpc("evm_setAutomine", [true]);
    }
    // The close is mined: every survivor sees the session settled, and the process that leads now
    // finds the dead closer's transaction mined (nothing left pending).
    expect((await chain.session(opened.jobId)).provenTokens).toBe(signed);
    await expect.poll(() => pendingTransactions(postgres, database), { timeout: 60_000 }).toBe("0");
    const closedRow = await postgres.query<{ closed: boolean }>(database, "SELECT closed FROM sessions WHERE job_id = $1", [opened.jobId.toString()]);
    expect(closedRow[0]!.closed).toBe(true);
    const after = await client.chat(ask("after the close"));
    expect([after.status, after.body.error?.code]).toEqual([409, "session_not_active"]);
  }, 180_000);

  it("refuse, on every process, a session whose receipt the chain refused, from before its settlement is mined; settled for what is proven", async () => {
    const [session] = await openSessions(1);
    const { client, jobId } = session!;
    await converse([session!], 4, 0, { retryUnavailable: false });
    await allProven([session!]);
    const proven = (await chain.session(jobId)).provenTokens;
    // The session key now has code that answers every call "valid" and every transaction "invalid" (tx.gasprice).
    await chain.anvilRpc("anvil_setCode", [session!.sessionKey.address, signerCode.callsOnly]);
    await anvilRpc("evm_setAutomine", [false]);
    try {
      for (let round = 0; client.cumulativeTokens - proven < interval; round++) {
        client.url = alive()[round % alive().length]!.url;
        expect((await client.chat(ask(`signed by code ${round}`))).status).toBe(200);
        const receipt = await sendContractReceipt(client.url, client, jobId);
        expect(receipt.status).toBe(200);
      }
      // The leader's proof waits unmined; mined, it reverts: the leader closes the session and sends its settlement.
      await expect.poll(() => pendingTransactions(postgres, database), { timeout: 60_000 }).toBe("1");
      await anvilRpc("evm_mine");
      const closed = async () =>
        (await postgres.query<{ closed: boolean }>(database, "SELECT closed FROM sessions WHERE job_id = $1", [jobId.toString()]))[0]!.closed;
      await expect.poll(closed, { timeout: 60_000 }).toBe(true);
      // Its settlement is not mined yet, and no process serves the session.
      expect((await chain.session(jobId)).provenTokens).toBe(proven);
      for (const host of alive()) {
        client.url = host.url;
        const refused = await client.chat(ask("after the refusal"));
        expect([refused.status, refused.body.error?.code, refused.body.error?.message]).toEqual([409, "session_not_active", `session ${jobId} is closed`]);
      }
      await expect.poll(() => pendingTransactions(postgres, database), { timeout: 60_000 }).toBe("1");
      await anvilRpc("evm_mine");
    } finally {
      await anvilRpc("evm_setAutomine", [true]);
    }
    const completions = () => chain.completions(jobId);
    await expect.poll(completions, { timeout: 60_000 }).toHaveLength(1);
    const [settlement] = await completions();
    expect([settlement!.args.provenTokens, settlement!.args.payment]).toEqual([proven, proven * price]);
  }, 180_000);

  it("lose the proof leader's lock connection mid-way: it stops leading, reconnects and serves again, the lead is taken again, and every signed receipt is proven exactly once", async () => {
    hosts.push(...(await Promise.all([startHost(), startHost()])));
    const sessions = await openSessions(4);
    await converse(sessions, 4, 0, { retryUnavailable: true });
    await allProven(sessions);

    // The leader's lock connection is cut (a network fault, an administrator) while receipts come in
    // and one of its proof transactions waits to be mined (the chain does not mine meanwhile).
    const pendingProofs = async () =>
      (await postgres.query<{ n: string }>(database, "SELECT count(*) AS n FROM submissions WHERE status = 'sent' AND kind IN ('checkpoint', 'batch')"))[0]!.n;
    await anvilRpc("evm_setAutomine", [false]);
    let cut: { backend: number; pid: number };
    try {
      const conversing = converse(sessions, 4, 1, { retryUnavailable: true });
      await expect.poll(pendingProofs, { timeout: 60_000 }).not.toBe("0");
      cut = (await proofLeader(postgres, database))!;
      await postgres.query(database, "SELECT pg_terminate_backend($1)", [cut.backend]);
      await conversing;
      await anvilRpc("evm_mine");
    } finally {
      await anvilRpc("evm_setAutomine", [true]);
    }
    const cutHost = hosts.find((candidate) => candidate.pid === cut.pid)!;

    // The lead is held again over another connection (by another process, or by the same one reconnected).
    await expect
      .poll(async () => (await proofLeader(postgres, database))?.backend, { timeout: 60_000 })
      .toSatisfy((backend) => backend !== undefined && backend !== cut.backend);
    // The process whose connection was cut serves again.
    await expect.poll(async () => (await fetch(`${cutHost.url}/ready`)).status, { timeout: 60_000 }).toBe(200);
    for (const { client } of sessions) {
      client.url = cutHost.url;
      expect((await client.chat(ask("after the reconnect"))).status).toBe(200);
      expect((await client.sendReceipt()).status).toBe(200);
    }

    await closeExactly(cluster(), sessions);
    expect((await postgres.query<{ n: string }>(database, "SELECT count(*) AS n FROM sessions WHERE NOT closed"))[0]!.n).toBe("0");
  }, 240_000);

  it("ride out a PostgreSQL crash and restart: requests during the outage get a retryable 503, every process reconnects, no receipt acknowledged before is lost", async () => {
    const serving = alive();
    expect(serving.length).toBeGreaterThanOrEqual(2);
    const sessions = await openSessions(3);
    await converse(sessions, 2, 0, { retryUnavailable: true });
    const acknowledged = sessions.map(({ client }) => client.cumulativeTokens);

    postgres.crash();
    try {
      // Every process answers a clear, retryable error while the database is gone: chat, receipt, sync, close.
      for (const [index, { client }] of sessions.entries()) {
        client.url = serving[index % serving.length]!.url;
        const refused = await client.chat(ask("during the outage"));
        expect([refused.status, refused.body.error?.code], JSON.stringify(refused.body)).toEqual([503, "storage_unavailable"]);
        expect(refused.body.error.message).toMatch(/retry later/);
      }
      const receipt = await sessions[0]!.client.sendReceipt();
      expect([receipt.status, ((await receipt.json()) as { error: { code: string } }).error.code]).toEqual([503, "storage_unavailable"]);
      await expect.poll(async () => (await fetch(`${serving[0]!.url}/ready`)).status, { timeout: 60_000 }).toBe(503);
    } finally {
      postgres.restart();
    }

    for (const process of serving) await expect.poll(async () => (await fetch(`${process.url}/ready`)).status, { timeout: 60_000 }).toBe(200);
    // What was acknowledged before the crash is all there.
    for (const [index, { jobId }] of sessions.entries()) {
      const [row] = await postgres.query<{ signed: string }>(database, "SELECT signed_tokens AS signed FROM sessions WHERE job_id = $1", [jobId.toString()]);
      expect(BigInt(row!.signed)).toBe(acknowledged[index]);
    }
    await converse(sessions, 2, 1, { retryUnavailable: true });
    await closeExactly(cluster(), sessions);
  }, 240_000);
});
