/**
 * A session signer with code (ERC-1271, or an EIP-7702-delegated session key) whose receipts the
 * host accepted but the chain refuses: the host serves the session nothing more, settles it for what
 * is proven, and never sends the refused receipt again (docs/failure-model.md, "Signed but refused by the chain").
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hex } from "viem";
import { createCommon } from "./common.ts";
import type { HostConfig } from "./config/config.ts";
import { createHostNode, type HostNode } from "./node.ts";
import { registerHost } from "./chain/register.ts";
import { sendContractReceipt as sendContractReceiptTo, signerCode } from "./testUtils/contractSigner.ts";
import { createTestBackend } from "./testUtils/testBackend.ts";
import { startTestChain, type TestChain } from "./testUtils/testChain.ts";
import { createTestClient } from "./testUtils/testClient.ts";
import { completesSession, startRpcGate, type RpcGate } from "./testUtils/rpcGate.ts";
import { tempDirsRemovedAfterAll } from "./testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

const price = 2_000_000_000n;
/** The session's checkpoint interval, and so the host's unsigned limit L (its own limits are above). */
const limit = 100;
/** One exchange at most: its prompt (a few tokens) and `max_tokens`. */
const maxTokens = 30;
const oneResponse = 20 + maxTokens;

let chain: TestChain;
/** The host's RPC: it lets every transaction through unless a test says otherwise. */
let gate: RpcGate;
let config: HostConfig;
let node: HostNode;

/** Starts the host node on `config` (again: a restart on the same database). */
async function startNode(): Promise<void> {
  node = createHostNode({ common: createCommon({ logLevel: "silent" }), config, backend: createTestBackend(), shutdownGraceMs: 500, submitterTickMs: 200 });
  await node.start();
}

beforeAll(async () => {
  chain = await startTestChain();
  gate = await startRpcGate(chain.anvil.rpcUrl);
  // Proofs go out only when a test flushes them, so that each test decides when the chain judges its receipts.
  config = chain.hostConfig({
    rpcUrl: gate.url,
    dbPath: join(tempDir("refused-"), "host.sqlite"),
    batch: { delayMs: 600_000, maxJobs: 10 },
  });
  expect((await registerHost({ config })).action).toBe("registered");
  await startNode();
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await gate?.close();
  await chain?.stop();
});

const ask = (content: string) => ({ messages: [{ role: "user", content }], max_tokens: maxTokens, stream: true });

async function openSession() {
  const opened = await chain.openSession({ host: config.account.address, pricePerToken: price, deposit: 10n ** 15n, proofInterval: BigInt(limit) });
  const client = createTestClient({ url: node.url, jobId: opened.jobId, sessionKey: opened.sessionKey, domain: chain.domain });
  const sendContractReceipt = () => sendContractReceiptTo(node.url, client, opened.jobId);
  const setSignerCode = (code: Hex) => chain.anvilRpc("anvil_setCode", [opened.sessionKey.address, code]);
  const describe = async () => (await (await fetch(`${node.url}/v1/session/${opened.jobId}`)).json()) as { servedTokens: string; closed: boolean };
  const served = async () => Number((await describe()).servedTokens);
  const closed = async () => (await describe()).closed;
  return { ...opened, client, sendContractReceipt, setSignerCode, served, closed };
}

type Session = Awaited<ReturnType<typeof openSession>>;

/** Honest (ECDSA) receipts for one interval, proven: what the host can be paid for. */
async function proveHonestInterval({ client, jobId }: Session): Promise<bigint> {
  while (client.cumulativeTokens < BigInt(limit)) {
    expect((await client.chat(ask("honest"))).status).toBe(200);
    expect((await client.sendReceipt()).status).toBe(200);
  }
  await node.flushProofs();
  const proven = (await chain.session(jobId)).provenTokens;
  expect(proven).toBe(client.cumulativeTokens);
  return proven;
}

/** Serves and signs with the contract signer until one interval beyond `proven` is signed: the host's next proof is due. */
async function signContractInterval(session: Session, proven: bigint): Promise<void> {
  while (session.client.cumulativeTokens - proven < BigInt(limit)) {
    expect((await session.client.chat(ask("signed by code"))).status).toBe(200);
    expect((await session.sendContractReceipt()).status).toBe(200);
  }
}

/** One honest interval proven, then one signed by code that revokes it before it is proven; resolves with what is proven. */
async function revokeSignedInterval(session: Session): Promise<bigint> {
  const proven = await proveHonestInterval(session);
  await session.setSignerCode(signerCode.valid);
  await signContractInterval(session, proven);
  await session.setSignerCode(signerCode.revoked);
  return proven;
}

/** The session is refused new work, settled by the host for exactly `proven`, and served no more than the bound beyond it. */
async function expectRefusedAndSettled(session: Session, proven: bigint): Promise<void> {
  const refused = await session.client.chat(ask("after the refusal"));
  expect(refused.status).toBe(409);
  expect(refused.body.error?.code).toBe("session_not_active");
  await expect.poll(() => chain.completions(session.jobId), { timeout: 30_000 }).toHaveLength(1);
  const settlement = (await chain.completions(session.jobId))[0]!.args;
  expect(settlement.completedBy?.toLowerCase()).toBe(config.account.address.toLowerCase());
  expect(settlement.provenTokens).toBe(proven);
  expect(settlement.payment).toBe(proven * price);
  // Served beyond the last provable receipt: signed-but-unproven below L plus the response whose
  // receipt made the proof due, unsigned below L plus the response that crossed it (docs/failure-model.md).
  expect((await session.served()) - Number(proven)).toBeLessThan(2 * limit + 2 * oneResponse);
}

describe("receipts the chain refuses", () => {
  it("a signer that revokes its receipts before they are proven: the proof's simulation is refused, the session closed and settled for what is proven", async () => {
    const session = await openSession();
    const proven = await revokeSignedInterval(session);
    // The most the client can take before the proof goes out: one interval unsigned on top.
    let answer = await session.client.chat(ask("unsigned"));
    while (answer.status === 200) answer = await session.client.chat(ask("unsigned"));
    expect(answer.body.error?.code).toBe("session_receipt_overdue");
    await node.flushProofs();
    await expectRefusedAndSettled(session, proven);
    // The refused receipt is not sent again: nothing of the session is left to prove.
    await node.flushProofs();
    expect((await chain.session(session.jobId)).provenTokens).toBe(proven);
  }, 60_000);

  it("an EIP-7702 key that drops its code after its receipts were taken by ERC-1271: judged by the receipt (not ECDSA), not by the code it holds now: closed and settled", async () => {
    const session = await openSession();
    const proven = await proveHonestInterval(session);
    await session.setSignerCode(signerCode.valid);
    await signContractInterval(session, proven);
    await session.setSignerCode("0x");
    await node.flushProofs();
    await expectRefusedAndSettled(session, proven);
  }, 60_000);

  // A signer valid to every call and invalid in every transaction: its mined proof refuses it. One that
  // burns its gas cap only in transactions sinks its batch (out of gas): each proof goes again alone,
  // and its own reverts.
  it.each([
    { signer: "valid to calls only", code: signerCode.callsOnly },
    { signer: "burning gas in transactions", code: signerCode.burnsGasInTransactions },
  ])(
    "a signer $signer: the session is closed and settled, an honest session in the same batch is proven and served on",
    async ({ code }) => {
      const attacker = await openSession();
      const honest = await openSession();
      const proven = await proveHonestInterval(attacker);
      await attacker.setSignerCode(code);
      await signContractInterval(attacker, proven);
      while (honest.client.cumulativeTokens < BigInt(limit)) {
        expect((await honest.client.chat(ask("honest"))).status).toBe(200);
        expect((await honest.client.sendReceipt()).status).toBe(200);
      }
      await node.flushProofs();
      await expectRefusedAndSettled(attacker, proven);
      expect((await chain.session(honest.jobId)).provenTokens).toBe(honest.client.cumulativeTokens);
      expect((await honest.client.chat(ask("still served"))).status).toBe(200);
    },
    60_000,
  );

  it("the same signer alone in its proof transaction: the proof, mined and reverted with the session active, ends the session as refused", async () => {
    const session = await openSession();
    const proven = await proveHonestInterval(session);
    await session.setSignerCode(signerCode.callsOnly);
    await signContractInterval(session, proven);
    await node.flushProofs();
    await expectRefusedAndSettled(session, proven);
  }, 60_000);

  it("a client's close whose final receipt the chain refuses: settled without it for what is proven, and the session served no more", async () => {
    const session = await openSession();
    const proven = await proveHonestInterval(session);
    await session.setSignerCode(signerCode.valid);
    expect((await session.client.chat(ask("one more"))).status).toBe(200);
    expect((await session.sendContractReceipt()).status).toBe(200);
    await session.setSignerCode(signerCode.revoked);
    const closed = await session.client.post("/v1/session/close", { jobId: session.jobId.toString() });
    expect(closed.status).toBe(200);
    expect(((await closed.json()) as { provenTokens: string }).provenTokens).toBe(proven.toString());
    await expectRefusedAndSettled(session, proven);
  }, 60_000);

  it("a host that stops after a refusal closed its session and before its settlement landed settles it once started again", async () => {
    const session = await openSession();
    const proven = await revokeSignedInterval(session);
    // The RPC refuses the session's settlement until the host is started again.
    const refusedBefore = gate.refused();
    gate.refuse(completesSession(session.jobId));
    try {
      await node.flushProofs();
      expect(gate.refused()).toBeGreaterThan(refusedBefore);
      const refused = await session.client.chat(ask("after the refusal"));
      expect([refused.status, refused.body.error?.message]).toEqual([409, `session ${session.jobId} is closed`]);
      await node.stop();
    } finally {
      gate.refuse(undefined);
    }
    expect(await chain.completions(session.jobId)).toHaveLength(0);
    await startNode();
    session.client.url = node.url;
    await expectRefusedAndSettled(session, proven);
  }, 60_000);

  // The chain mines nothing while the proof waits, so its wait runs out (whatever the machine's speed); mined
  // afterwards, its fate is learned by the transaction sender's reconcile at a tick.
  it.each([
    { outcome: "mined reverted, alone in its transaction", batched: false },
    { outcome: "skipped with ProofRejected in its batch", batched: true },
  ])(
    "a proof whose wait ran out and that reconcile finds $outcome: judged as if seen at once, the session closed and settled",
    async ({ batched }) => {
      const attacker = await openSession();
      const honest = batched ? await openSession() : undefined;
      const proven = await proveHonestInterval(attacker);
      await attacker.setSignerCode(signerCode.callsOnly);
      await signContractInterval(attacker, proven);
      while (honest && honest.client.cumulativeTokens < BigInt(limit)) {
        expect((await honest.client.chat(ask("honest"))).status).toBe(200);
        expect((await honest.client.sendReceipt()).status).toBe(200);
      }
      await chain.anvilRpc("evm_setAutomine", [false]);
      try {
        await node.flushProofs();
        await chain.anvilRpc("evm_mine");
      } finally {
        await chain.anvilRpc("evm_setAutomine", [true]);
      }
      await expect.poll(attacker.closed, { timeout: 30_000 }).toBe(true);
      await expectRefusedAndSettled(attacker, proven);
      if (honest) expect((await chain.session(honest.jobId)).provenTokens).toBe(honest.client.cumulativeTokens);
    },
    60_000,
  );

  it("a signer valid only to calls from nobody (tx.origin zero) is asked from the host's address: its receipts are refused at once", async () => {
    const session = await openSession();
    await session.setSignerCode(signerCode.callsFromNobody);
    expect((await session.client.chat(ask("first"))).status).toBe(200);
    const receipt = await session.sendContractReceipt();
    expect(receipt.status).toBe(401);
    expect(((await receipt.json()) as { error: { code: string } }).error.code).toBe("session_bad_signature");
  }, 60_000);
});
