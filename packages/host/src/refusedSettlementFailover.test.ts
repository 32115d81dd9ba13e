/**
 * Two host processes on one PostgreSQL store: the process leading proofs closes a session whose
 * receipt the chain refuses and dies before that session's settlement lands (its RPC refuses the
 * settlement until then). The store remembers the settlement is due: the other process takes the
 * lead and settles the session, once, for what is proven (docs/failure-model.md, "Signed but refused by the chain").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveHostConfig, type HostConfigInput } from "./config/config.ts";
import { registerHost } from "./chain/register.ts";
import { isAlive, pendingTransactions, proofLeader, startHostProcess, type HostProcess } from "./testUtils/hostCluster.ts";
import { sendContractReceipt, signerCode } from "./testUtils/contractSigner.ts";
import { completesSession, startRpcGate, type RpcGate } from "./testUtils/rpcGate.ts";
import { startTestChain, type TestChain } from "./testUtils/testChain.ts";
import { createTestClient } from "./testUtils/testClient.ts";
import { startTestPostgres, type TestPostgres } from "./testUtils/testPostgres.ts";

const price = 2_000_000_000n;
const interval = 100n;
let chain: TestChain;
let postgres: TestPostgres;
let gate: RpcGate;
let database: string;
let input: HostConfigInput;
const hosts: HostProcess[] = [];

beforeAll(async () => {
  [chain, postgres] = await Promise.all([startTestChain(), startTestPostgres({ fsync: false })]);
  gate = await startRpcGate(chain.anvil.rpcUrl);
  database = await postgres.createDatabase();
  input = chain.hostConfigInput({ rpcUrl: gate.url, store: database, storePoolSize: 4, batch: { delayMs: 100, maxJobs: 10 } });
  expect((await registerHost({ config: resolveHostConfig(input) })).action).toBe("registered");
  hosts.push(...(await Promise.all([startHostProcess(input), startHostProcess(input)])));
}, 180_000);

afterAll(async () => {
  for (const host of hosts) host.child.kill("SIGKILL");
  await Promise.all(hosts.map((host) => host.exited));
  await gate?.close();
  postgres?.stop();
  await chain?.stop();
});

const ask = (content: string) => ({ messages: [{ role: "user", content }], max_tokens: 30, stream: true });

/** The session's settlement transactions the shared store recorded, by status. */
const settlements = async (jobId: bigint) =>
  await postgres.query<{ status: string }>(
    database,
    `SELECT s.status FROM submissions s JOIN submission_entries e ON e.submission_id = s.id
     WHERE e.job_id = $1 AND s.kind IN ('final', 'complete') ORDER BY s.id`,
    [jobId.toString()],
  );

describe("a session closed for a refused receipt, on host processes sharing one PostgreSQL store", () => {
  it("is settled once, for what is proven, by the process that takes the lead after the one that closed it dies before its settlement lands", async () => {
    const host = resolveHostConfig(input).account.address;
    const opened = await chain.openSession({ host, pricePerToken: price, deposit: 10n ** 15n, proofInterval: interval });
    const { jobId } = opened;
    const client = createTestClient({ url: hosts[0]!.url, jobId, sessionKey: opened.sessionKey, domain: chain.domain });
    for (let round = 0; client.cumulativeTokens < interval; round++) {
      client.url = hosts[round % hosts.length]!.url;
      expect((await client.chat(ask(`honest ${round}`))).status).toBe(200);
      expect((await client.sendReceipt()).status).toBe(200);
    }
    await expect.poll(async () => (await chain.session(jobId)).provenTokens, { timeout: 60_000 }).toBe(client.cumulativeTokens);
    const proven = client.cumulativeTokens;

    // The session key now has code that answers every call "valid" and every transaction "invalid":
    // the leader's next proof is mined reverted, and the leader closes the session. Its RPC refuses the settlement.
    gate.refuse(completesSession(jobId));
    await chain.anvilRpc("anvil_setCode", [opened.sessionKey.address, signerCode.callsOnly]);
    for (let round = 0; client.cumulativeTokens - proven < interval; round++) {
      client.url = hosts[round % hosts.length]!.url;
      expect((await client.chat(ask(`signed by code ${round}`))).status).toBe(200);
      expect((await sendContractReceipt(client.url, client, jobId)).status).toBe(200);
    }
    const closed = async () =>
      (await postgres.query<{ closed: boolean }>(database, "SELECT closed FROM sessions WHERE job_id = $1", [jobId.toString()]))[0]!.closed;
    await expect.poll(closed, { timeout: 60_000 }).toBe(true);
    await expect.poll(() => gate.refused(), { timeout: 60_000 }).toBeGreaterThan(0);

    // The leader dies; only then does the RPC take the settlement.
    const leader = (await proofLeader(postgres, database))!.pid;
    const killed = hosts.find((candidate) => candidate.pid === leader)!;
    killed.child.kill("SIGKILL");
    await killed.exited;
    gate.refuse(undefined);
    const [survivor] = hosts.filter(isAlive);
    await expect.poll(async () => (await proofLeader(postgres, database))?.pid, { timeout: 60_000 }).toBe(survivor!.pid);

    await expect.poll(() => chain.completions(jobId), { timeout: 60_000 }).toHaveLength(1);
    const [settlement] = await chain.completions(jobId);
    expect([settlement!.args.completedBy?.toLowerCase(), settlement!.args.provenTokens, settlement!.args.payment]).toEqual([
      host.toLowerCase(),
      proven,
      proven * price,
    ]);
    // Exactly once: the survivor sent one settlement, which landed (the dead leader's were refused by the RPC, dropped),
    // no second one was sent to revert, and nothing is left due or pending.
    await expect.poll(() => pendingTransactions(postgres, database), { timeout: 60_000 }).toBe("0");
    const sent = (await settlements(jobId)).filter(({ status }) => status !== "dropped");
    expect(sent).toEqual([{ status: "confirmed" }]);
    await expect
      .poll(
        async () =>
          (await postgres.query<{ due: boolean }>(database, "SELECT settlement_due AS due FROM sessions WHERE job_id = $1", [jobId.toString()]))[0]!.due,
        { timeout: 60_000 },
      )
      .toBe(false);
    client.url = survivor!.url;
    const refused = await client.chat(ask("after the settlement"));
    expect([refused.status, refused.body.error?.code]).toEqual([409, "session_not_active"]);
  }, 240_000);
});
