/**
 * Several host processes on one PostgreSQL store, one anvil chain: clients spread over the
 * processes (each session's requests and receipts hit a different process each time), the
 * process submitting proofs is killed with SIGKILL mid-way, and still every signed receipt is
 * proven exactly once and every session settles to the wei (docs/failure-model.md).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";
import { resolveHostConfig, type HostConfigInput } from "./config/config.ts";
import { registerHost } from "./chain/register.ts";
import { startTestChain, type TestChain } from "./testUtils/testChain.ts";
import { createTestClient } from "./testUtils/testClient.ts";
import { startTestPostgres, type TestPostgres } from "./testUtils/testPostgres.ts";

const price = 2_000_000_000n;
const interval = 100n;
let chain: TestChain;
let postgres: TestPostgres;
let database: string;
let input: HostConfigInput;
const hosts: { child: ChildProcess; url: string; pid: number; exited: Promise<void> }[] = [];

function startHost(): Promise<(typeof hosts)[number]> {
  const child = spawn(
    process.execPath,
    ["--conditions=@session-jobs/source", "--import", "tsx", fileURLToPath(new URL("./testUtils/hostProcess.ts", import.meta.url))],
    {
      // Tokens come 5 ms apart, so that two requests of one session overlap when they race.
      env: { ...process.env, TEST_HOST_CONFIG: JSON.stringify(input), TEST_HOST_TOKEN_DELAY_MS: "5" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += String(chunk)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      stdout += String(chunk);
      const line = stdout.split("\n").find((candidate) => candidate.startsWith("{"));
      if (line) resolve({ child, exited, ...(JSON.parse(line) as { url: string; pid: number }) });
    });
    void exited.then(() => reject(new Error(`host process exited before serving:\n${stdout}\n${stderr}`)));
  });
}

/** The operating-system pid of the process holding the proof lock, read from PostgreSQL. */
async function proofLeaderPid(): Promise<number | undefined> {
  const rows = await postgres.query<{ name: string }>(
    database,
    `SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid,
       (SELECT hashtextextended('session-jobs:proof-leader', 0) AS k) key
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
       AND l.classid::bigint = ((key.k >> 32) & 4294967295) AND l.objid::bigint = (key.k & 4294967295)`,
  );
  const match = rows[0] && /pid=(\d+)/.exec(rows[0].name);
  return match ? Number(match[1]) : undefined;
}

beforeAll(async () => {
  [chain, postgres] = await Promise.all([startTestChain(), startTestPostgres({ fsync: false })]);
  database = await postgres.createDatabase();
  input = chain.hostConfigInput({ store: database, storePoolSize: 4, batch: { delayMs: 100, maxJobs: 10 } });
  expect((await registerHost({ config: resolveHostConfig(input) })).action).toBe("registered");
  hosts.push(...(await Promise.all([startHost(), startHost(), startHost()])));
}, 180_000);

afterAll(async () => {
  for (const host of hosts) host.child.kill("SIGKILL");
  await Promise.all(hosts.map((host) => host.exited));
  postgres?.stop();
  await chain?.stop();
});

const ask = (content: string) => ({ messages: [{ role: "user", content }], max_tokens: 30, stream: true });

describe("host processes sharing one PostgreSQL store", () => {
  it("serve sessions spread over all processes, survive the proof submitter's SIGKILL, and prove and settle every signed token exactly once", async () => {
    const alive = () => hosts.filter((host) => host.child.exitCode === null && host.child.signalCode === null);
    const host = resolveHostConfig(input).account.address;
    const sessions: (Awaited<ReturnType<TestChain["openSession"]>> & { client: ReturnType<typeof createTestClient> })[] = [];
    for (let index = 0; index < 6; index++) {
      const opened = await chain.openSession({ host, pricePerToken: price, deposit: 10n ** 15n, proofInterval: interval });
      sessions.push({ ...opened, client: createTestClient({ url: hosts[0]!.url, jobId: opened.jobId, sessionKey: opened.sessionKey, domain: chain.domain }) });
    }
    /** Each session asks and signs `rounds` times, its requests and receipts going to a different process each time. */
    const converse = (rounds: number, offset: number) =>
      Promise.all(
        sessions.map(async ({ client }, index) => {
          for (let round = 0; round < rounds; round++) {
            const serving = alive();
            client.url = serving[(index + round + offset) % serving.length]!.url;
            const answer = await client.chat(ask(`request ${round} of session ${index}`));
            expect(answer.status, JSON.stringify(answer.body)).toBe(200);
            client.url = serving[(index + round + offset + 1) % serving.length]!.url;
            expect((await client.sendReceipt()).status).toBe(200);
          }
        }),
      );

    await converse(4, 0);
    // Every session passed one interval: the leader proves them.
    await expect
      .poll(async () => Promise.all(sessions.map(async ({ jobId }) => (await chain.session(jobId)).provenTokens > 0n)), { timeout: 60_000 })
      .toEqual(sessions.map(() => true));

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

    await converse(3, 1);
    // A survivor takes the proof lock over and proves the receipts due since.
    await expect.poll(proofLeaderPid, { timeout: 60_000 }).toSatisfy((pid) => pid !== undefined && pid !== leader);

    const closes = await Promise.all(
      sessions.map(async ({ client, jobId }, index) => {
        client.url = alive()[index % alive().length]!.url;
        const closed = await client.post("/v1/session/close", { jobId: jobId.toString() });
        expect(closed.status).toBe(200);
        return { jobId, signed: client.cumulativeTokens, hash: (await closed.json()).transactionHash };
      }),
    );
    const proofEvents = await chain.publicClient.getContractEvents({
      address: chain.contracts.jobMarketplace,
      abi: jobMarketplaceWithModelsAbi,
      eventName: "ProofSubmitted",
      fromBlock: 0n,
    });
    for (const { jobId, signed, hash } of closes) {
      const settlement = await chain.settlement(hash);
      expect(settlement).toMatchObject({ jobId, provenTokens: signed, payment: signed * price });
      const proven = proofEvents.filter((event) => (event.args as { jobId: bigint }).jobId === jobId).map((event) => (event.args as { tokens: bigint }).tokens);
      // Proofs add up to exactly what was signed: no receipt proven twice, none left out.
      expect(proven.reduce((sum, tokens) => sum + tokens, 0n)).toBe(signed);
      expect(proven.length).toBeGreaterThanOrEqual(2);
    }
    // The shared store agrees: every session closed and pruned, no transaction left pending.
    const open = await postgres.query<{ n: string }>(database, "SELECT count(*) AS n FROM sessions WHERE NOT closed");
    const pending = await postgres.query<{ n: string }>(database, "SELECT count(*) AS n FROM submissions WHERE status IN ('signed', 'sent')");
    expect([open[0]!.n, pending[0]!.n]).toEqual(["0", "0"]);
  }, 240_000);
});
