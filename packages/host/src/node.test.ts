/**
 * The host node against anvil with the deployed contracts: receipts become on-chain proofs,
 * batches, settlement at close, the overdue cut-off, and recovery after a restart (the node's
 * receipts, and a client's lost answer through sync).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { jobMarketplaceWithModelsAbi, nodeRegistryWithModelsAbi } from "@session-jobs/contracts/abis";
import type { SyncResponse } from "@session-jobs/protocol";
import Database from "better-sqlite3";
import { createCommon } from "./common.ts";
import { StoreDeploymentError, StoreOpenError } from "./errors.ts";
import { writeMigrationMark } from "./store/migrationMark.ts";
import type { HostConfig } from "./config/config.ts";
import { createHostNode, type HostNode } from "./node.ts";
import { registerHost } from "./chain/register.ts";
import { createTestBackend } from "./testUtils/testBackend.ts";
import { writeOldSchemaDatabase } from "./testUtils/storeFixtures.ts";
import { startTestChain, type TestChain } from "./testUtils/testChain.ts";
import { createTestClient } from "./testUtils/testClient.ts";
import { tempDirsRemovedAfterAll } from "./testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

const price = 2_000_000_000n; // 2 gwei per token, the test host's native minimum
const interval = 100n;
let chain: TestChain;
let config: HostConfig;
let node: HostNode;
const backend = createTestBackend();
const dbPath = join(tempDir("host-node-"), "host.sqlite");

/** How far the node's clock runs ahead of the wall clock (a test of silent sessions moves it). */
let clockOffsetMs = 0;

function startNode() {
  node = createHostNode({
    common: createCommon({ logLevel: "silent" }),
    config,
    backend,
    shutdownGraceMs: 500,
    submitterTickMs: 200,
    now: () => Date.now() + clockOffsetMs,
  });
  return node.start();
}

beforeAll(async () => {
  chain = await startTestChain();
  config = chain.hostConfig({ dbPath, batch: { delayMs: 300, maxJobs: 10 } });
  expect((await registerHost({ config })).action).toBe("registered");
  await startNode();
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await chain?.stop();
});

async function openSession(deposit = 10n ** 15n) {
  const session = await chain.openSession({ host: config.account.address, pricePerToken: price, deposit, proofInterval: interval });
  return { ...session, client: createTestClient({ url: node.url, jobId: session.jobId, sessionKey: session.sessionKey, domain: chain.domain }) };
}

/** The last block the node's settlement watch has read (and given to its chain clock), from /metrics. */
async function watchedBlock(): Promise<bigint> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return BigInt(/^session_jobs_settlement_watch_block (\d+)$/m.exec(text)![1]!);
}

const ask = (content: string, maxTokens = 30) => ({ messages: [{ role: "user", content }], max_tokens: maxTokens, stream: true });

describe("host node on chain", () => {
  it("registers idempotently", async () => {
    expect((await registerHost({ config })).action).toBe("unchanged");
  });

  it("publishes limits.maxCheckpointInterval as the host's on-chain terms", async () => {
    const terms = () =>
      chain.publicClient.readContract({
        address: config.contracts.nodeRegistry,
        abi: nodeRegistryWithModelsAbi,
        functionName: "getNodeTerms",
        args: [config.account.address, zeroAddress],
      });
    expect((await terms()).maxCheckpointInterval).toBe(1000n);
    const widened = { ...config, limits: { ...config.limits, maxCheckpointInterval: 5000 } };
    const { action, transactions } = await registerHost({ config: widened });
    expect(action).toBe("updated");
    expect(transactions.map((transaction) => transaction.step)).toEqual(["updateMaxCheckpointInterval"]);
    expect((await terms()).maxCheckpointInterval).toBe(5000n);
    expect((await registerHost({ config: widened })).action).toBe("unchanged");
    expect((await registerHost({ config })).action).toBe("updated");
    expect((await terms()).maxCheckpointInterval).toBe(1000n);
  });

  it("proves signed receipts at each checkpoint and settles everything signed at close", async () => {
    const { jobId, client } = await openSession();
    const earningsBefore = await chain.hostEarnings(config.account.address);
    for (const prompt of ["In the beginning", "God created", "the heaven", "and the earth"]) {
      const answer = await client.chat(ask(prompt));
      expect(answer.status).toBe(200);
      expect((await client.sendReceipt()).status).toBe(200);
    }
    const signedAtCheckpoint = client.cumulativeTokens;
    expect(signedAtCheckpoint).toBeGreaterThanOrEqual(interval);
    await expect.poll(async () => (await chain.session(jobId)).provenTokens, { timeout: 5000 }).toBe(signedAtCheckpoint);

    await client.chat(ask("and the earth was without form"));
    expect((await client.sendReceipt()).status).toBe(200);
    const signed = client.cumulativeTokens;

    const closed = await client.post("/v1/session/close", { jobId: jobId.toString() });
    expect(closed.status).toBe(200);
    const { transactionHash, provenTokens, mined } = await closed.json();
    expect(mined).toBe(true);
    expect(provenTokens).toBe(signed.toString());
    const settlement = await chain.settlement(transactionHash);
    expect(settlement).toMatchObject({ jobId, provenTokens: signed, payment: signed * price, treasuryFee: (signed * price) / 10n });
    expect(settlement!.hostEarnings).toBe(signed * price - (signed * price) / 10n);
    expect(await chain.hostEarnings(config.account.address)).toBe(earningsBefore + settlement!.hostEarnings);
    expect((await chain.session(jobId)).status).toBe(2);
    expect((await client.chat(ask("more"))).body.error.code).toBe("session_not_active");
  });

  it("answers a settlement mined but reverted because the depositor completed the session first with 409 session_not_active, and sees the session settled", async () => {
    const { jobId, client } = await openSession();
    expect((await client.chat(ask("In the beginning"))).status).toBe(200);
    expect((await client.sendReceipt()).status).toBe(200);
    const host = config.account.address;
    const hostNonce = await chain.publicClient.getTransactionCount({ address: host });
    await chain.anvilRpc("evm_setAutomine", [false]);
    let closed: Response;
    try {
      // The host's settlement simulates on the latest block and waits in the pool...
      const closing = client.post("/v1/session/close", { jobId: jobId.toString() });
      await expect.poll(() => chain.publicClient.getTransactionCount({ address: host, blockTag: "pending" }), { timeout: 10_000 }).toBe(hostNonce + 1);
      // ...and the depositor's completion, paying more for its place, is mined before it in the same block.
      const completion = await chain.sendCompleteSession(jobId, { priorityFeePerGas: 1_000_000_000_000n });
      await chain.anvilRpc("evm_mine");
      expect((await chain.publicClient.getTransactionReceipt({ hash: completion })).status).toBe("success");
      closed = await closing;
    } finally {
      await chain.anvilRpc("evm_setAutomine", [true]);
    }
    expect([closed.status, (await closed.json()).error]).toEqual([
      409,
      expect.objectContaining({ code: "session_not_active", message: expect.stringMatching(new RegExp(`^session ${jobId} was completed on chain before`)) }),
    ]);
    expect((await chain.session(jobId)).status).toBe(2);
    // Seen settled by every later request, none of them told it is closing (the mark is not left behind).
    const chat = await client.chat(ask("more"));
    expect([chat.status, chat.body.error.code, chat.body.error.message, chat.body.error.reason]).toEqual([
      409,
      "session_not_active",
      `session ${jobId} is closed`,
      undefined,
    ]);
    const again = await client.post("/v1/session/close", { jobId: jobId.toString() });
    expect([again.status, await again.json()]).toEqual([
      409,
      { error: expect.objectContaining({ code: "session_not_active", message: `session ${jobId} is closed` }) },
    ]);
  });

  it("refuses a replayed sequence, a request signed by another key and a receipt for another transcript", async () => {
    const { client } = await openSession();
    expect((await client.chat(ask("first"))).status).toBe(200);
    expect((await client.chat(ask("replayed"), { sequence: 1n })).body.error.code).toBe("session_replayed");
    expect((await client.chat(ask("forged"), { signer: privateKeyToAccount(generatePrivateKey()) })).body.error.code).toBe("session_bad_signature");
    const mismatch = await client.sendReceipt({ transcriptHash: `0x${"12".repeat(32)}` });
    expect(mismatch.status).toBe(409);
    expect((await mismatch.json()).error.code).toBe("session_receipt_mismatch");
    expect((await client.sendReceipt()).status).toBe(200);
  });

  it("cuts off a client that stops signing after one interval and is paid for everything signed", async () => {
    const { jobId, client } = await openSession();
    await client.chat(ask("In the beginning"));
    expect((await client.sendReceipt()).status).toBe(200);
    const signed = client.cumulativeTokens;

    let refusal;
    for (let exchange = 0; exchange < 20 && !refusal; exchange++) {
      const answer = await client.chat(ask("keep talking"));
      if (answer.status !== 200) refusal = answer;
    }
    expect(refusal?.status).toBe(402);
    expect(refusal?.body.error.code).toBe("session_receipt_overdue");
    const unsigned = client.cumulativeTokens - signed;
    expect(unsigned).toBeGreaterThanOrEqual(interval);
    expect(unsigned).toBeLessThan(interval + 30n + 10n);

    const closed = await client.post("/v1/session/close", { jobId: jobId.toString() });
    expect(closed.status).toBe(200);
    const settlement = await chain.settlement((await closed.json()).transactionHash);
    expect(settlement).toMatchObject({ provenTokens: signed, payment: signed * price });
  });

  it("batches due proofs of several sessions into one transaction", async () => {
    const sessions = [await openSession(), await openSession()];
    for (const { client } of sessions) for (const prompt of ["one", "two", "three"]) expect((await client.chat(ask(prompt))).status).toBe(200);
    for (const { client } of sessions) expect(client.cumulativeTokens).toBeGreaterThanOrEqual(interval);
    const fromBlock = await chain.publicClient.getBlockNumber();
    await Promise.all(sessions.map(({ client }) => client.sendReceipt()));
    for (const { jobId, client } of sessions)
      await expect.poll(async () => (await chain.session(jobId)).provenTokens, { timeout: 5000 }).toBe(client.cumulativeTokens);
    const events = await chain.publicClient.getContractEvents({
      address: chain.contracts.jobMarketplace,
      abi: jobMarketplaceWithModelsAbi,
      eventName: "ProofSubmitted",
      fromBlock,
    });
    const proved = events.filter((event) => sessions.some(({ jobId }) => (event.args as { jobId: bigint }).jobId === jobId));
    expect(proved).toHaveLength(2);
    expect(proved[0]!.transactionHash).toBe(proved[1]!.transactionHash);
  });

  it("reports proofs in /metrics", async () => {
    // The batch above was seen on chain; the node counts it once it has polled the transaction's receipt, a moment later.
    const confirmedBatches = /^session_jobs_proof_transactions_total\{kind="batch",outcome="confirmed"\} [1-9]\d*$/m;
    await expect.poll(async () => (await (await fetch(`${node.url}/metrics`)).text()).match(confirmedBatches) !== null, { timeout: 10_000 }).toBe(true);
    const text = await (await fetch(`${node.url}/metrics`)).text();
    expect(text).toMatch(/^session_jobs_tokens_proven_total [1-9]\d*$/m);
    expect(text).toMatch(/^session_jobs_requests_refused_total\{code="session_receipt_overdue"\} [1-9]\d*$/m);
  });

  it("reports the host's gas and HostEarnings balances and the process in /metrics", async () => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const earned = await chain.hostEarnings(config.account.address);
    expect(earned).toBeGreaterThan(0n);
    expect(text).toContain(`session_jobs_host_earnings_balance{asset="0x0000000000000000000000000000000000000000"} ${Number(earned)}\n`);
    expect(text).toMatch(/^session_jobs_host_gas_balance_wei [1-9][\d.e+]*$/m);
    expect(text).toMatch(/^session_jobs_host_process_resident_memory_bytes [1-9]\d*$/m);
    expect(text).not.toMatch(/^session_jobs_balance_read_failures_total [1-9]/m);
  });

  it("claims a session whose client went silent for the abandonment timeout", async () => {
    const { jobId, client } = await openSession();
    await client.chat(ask("a few words", 20));
    expect((await client.sendReceipt()).status).toBe(200);
    await node.flushProofs();
    const proven = (await chain.session(jobId)).provenTokens;
    expect(proven).toBe(client.cumulativeTokens);

    const day = 24 * 60 * 60;
    await chain.publicClient.request({ method: "evm_increaseTime" as never, params: [day + 60] as never });
    await chain.publicClient.request({ method: "evm_mine" as never });
    // The claim is judged on the chain's clock, once the node has read that block; the silence on the host's own.
    const head = await chain.publicClient.getBlockNumber();
    await expect.poll(watchedBlock, { timeout: 10_000 }).toBeGreaterThanOrEqual(head);
    clockOffsetMs = (day + 120) * 1000;
    try {
      await expect.poll(async () => (await chain.session(jobId)).status, { timeout: 5000 }).toBe(4);
    } finally {
      clockOffsetMs = 0;
    }
    const [claimed] = await chain.publicClient.getContractEvents({
      address: chain.contracts.jobMarketplace,
      abi: jobMarketplaceWithModelsAbi,
      eventName: "SessionCompleted",
      args: { jobId },
    });
    expect(claimed!.args).toMatchObject({ provenTokens: proven, payment: proven * price });
  });

  it("judges a session's maximum duration on the chain's clock: once the chain's time passes it, a request is refused 409 session_not_active, and what was signed is proven", async () => {
    const { jobId, client } = await openSession();
    expect((await client.chat(ask("In the beginning"))).status).toBe(200);
    expect((await client.sendReceipt()).status).toBe(200);
    // The chain moves past the session's hour; the host's clock does not.
    await chain.anvilRpc("evm_increaseTime", [3_700]);
    await chain.anvilRpc("evm_mine");
    const head = await chain.publicClient.getBlockNumber();
    await expect.poll(watchedBlock, { timeout: 10_000 }).toBeGreaterThanOrEqual(head);
    const refused = await client.chat(ask("God created"));
    expect([refused.status, refused.body.error?.code]).toEqual([409, "session_not_active"]);
    // Past its deadline on the chain's clock, the deadline flush proves it (the contract takes proofs until a timeout).
    await expect.poll(async () => (await chain.session(jobId)).provenTokens, { timeout: 10_000 }).toBe(client.cumulativeTokens);
  }, 30_000);

  it("serves a session within its maximum duration on the chain's clock while the host's own clock runs hours ahead", async () => {
    const { client } = await openSession();
    // Two hours ahead of the chain's clock (which earlier tests moved ahead of the wall clock).
    clockOffsetMs = Number((await chain.publicClient.getBlock()).timestamp) * 1000 - Date.now() + 2 * 3_600_000;
    try {
      expect((await client.chat(ask("In the beginning"))).status).toBe(200);
    } finally {
      clockOffsetMs = 0;
    }
  });

  it("recovers signed receipts from SQLite after a restart and proves them", async () => {
    const { jobId, client } = await openSession();
    await client.chat(ask("a short talk", 20));
    expect((await client.sendReceipt()).status).toBe(200);
    const signed = client.cumulativeTokens;
    expect(signed).toBeLessThan(interval);
    // Stopped without waiting for proofs (as when the chain is unreachable at shutdown).
    await node.stop({ proofTimeoutMs: 0 });
    expect((await chain.session(jobId)).provenTokens).toBe(0n);

    await startNode();
    await expect.poll(async () => (await chain.session(jobId)).provenTokens, { timeout: 5000 }).toBe(signed);
    const view = await (await fetch(`${node.url}/v1/session/${jobId}`)).json();
    expect(view).toMatchObject({ servedTokens: signed.toString(), signedTokens: signed.toString(), provenTokens: signed.toString() });

    // The client goes on where it was: the sequence it used is still taken, the transcript continues.
    client.url = node.url;
    expect((await client.chat(ask("replayed after restart"), { sequence: client.sequence })).body.error.code).toBe("session_replayed");
    expect((await client.chat(ask("and on"))).status).toBe(200);
    expect((await client.sendReceipt()).status).toBe(200);
  });

  it("does not start on a SQLite file migrated to PostgreSQL, leaving it byte for byte as it was (an older schema not brought up to date), and names a PostgreSQL store it cannot open (without its password)", async () => {
    const migrated = join(tempDir("host-node-"), "host.sqlite");
    const deployment = { chainId: chain.anvil.chainId, marketplace: config.contracts.jobMarketplace, host: config.account.address };
    writeOldSchemaDatabase(migrated, deployment);
    const db = new Database(migrated);
    writeMigrationMark(db, { to: "postgres://hosts:***@db.internal/hosts", at: "2026-11-30T12:00:00.000Z" });
    const schemaVersion = db.pragma("schema_version", { simple: true });
    db.close();
    const before = readFileSync(migrated);
    const refused = async (store: HostConfig["store"]) => {
      const other = createHostNode({ common: createCommon({ logLevel: "silent" }), config: { ...config, store }, backend });
      const error = await other.start().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      await other.stop();
      return error as Error;
    };
    const onMigrated = await refused({ kind: "sqlite", path: migrated });
    expect(onMigrated).toBeInstanceOf(StoreDeploymentError);
    expect(onMigrated.message).toBe(
      `${migrated} was migrated to postgres://hosts:***@db.internal/hosts at 2026-11-30T12:00:00.000Z: a node on it would serve and bill the same requests as the PostgreSQL processes`,
    );
    expect(readFileSync(migrated).equals(before)).toBe(true);
    const after = new Database(migrated, { readonly: true });
    expect(after.pragma("schema_version", { simple: true })).toBe(schemaVersion);
    expect(after.pragma("journal_mode", { simple: true })).toBe("delete");
    after.close();
    const unreachable = await refused({ kind: "postgres", url: "postgres://hosts:s3cret@127.0.0.1:1/hosts", poolSize: 1 });
    expect(unreachable).toBeInstanceOf(StoreOpenError);
    expect(unreachable.message).toBe("cannot open the PostgreSQL store postgres://hosts:***@127.0.0.1:1/hosts: connect ECONNREFUSED 127.0.0.1:1");
  });

  it("hands a client the answer it lost through sync after a restart, and is paid for it at close", async () => {
    const { jobId, client } = await openSession();
    const signed = await client.chat(ask("In the beginning", 20));
    expect(signed.status).toBe(200);
    expect((await client.sendReceipt()).status).toBe(200);
    const saved = { transcriptHash: client.transcriptHash, cumulativeTokens: client.cumulativeTokens };
    const lost = await client.chat(ask("God created the heaven", 20));
    expect(lost.status).toBe(200);
    // The client comes back from state saved before that answer arrived; the node restarted meanwhile.
    Object.assign(client, saved);
    await node.stop();
    await startNode();
    client.url = node.url;

    const refused = await client.chat(ask("and the earth", 20));
    expect([refused.status, refused.body.error?.code]).toEqual([409, "session_out_of_sync"]);
    const synced = (await (await client.sync()).json()) as SyncResponse;
    expect(synced.receipt).toMatchObject({ cumulativeTokens: saved.cumulativeTokens.toString(), transcriptHash: saved.transcriptHash });
    // The exchange the receipt covers is kept across the restart too (for a client that signed for it and then lost its state); the lost one follows it.
    expect(synced.exchanges).toMatchObject([
      {
        sequence: "1",
        requestSignature: signed.requestSignature,
        responseText: signed.text,
        cumulativeTokens: saved.cumulativeTokens.toString(),
        transcriptHash: saved.transcriptHash,
      },
      { sequence: "2", requestSignature: lost.requestSignature, responseText: lost.text, aborted: false },
    ]);
    client.followSync(synced);
    expect(client.transcriptHash).toBe(lost.session!.transcriptHash);
    expect((await client.sendReceipt()).status).toBe(200);

    expect((await client.chat(ask("and the earth", 20))).status).toBe(200);
    expect((await client.sendReceipt()).status).toBe(200);
    const closed = await client.post("/v1/session/close", { jobId: jobId.toString() });
    expect(closed.status).toBe(200);
    const { transactionHash, provenTokens } = await closed.json();
    expect(provenTokens).toBe(client.cumulativeTokens.toString());
    expect(await chain.settlement(transactionHash)).toMatchObject({ jobId, provenTokens: client.cumulativeTokens, payment: client.cumulativeTokens * price });
  });
});
