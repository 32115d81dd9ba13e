import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateKeyToAccount } from "viem/accounts";
import { chat, getSession, type Session } from "@session-jobs/sdk";
import { demoKeys, localPollingIntervalMs, walletFor, type LocalNetwork } from "../../src/demo/localNetwork.ts";
import { anvilRpc, hostView, openUserSession, startInProcessHost, startNetwork } from "./harness.ts";
import { closeExactly as closeSettledExactly } from "./stack.ts";
import { startTcpProxy, type TcpProxy } from "./tcpProxy.ts";

// Chain faults under a running host node whose RPC goes through a TCP proxy (127.0.0.1):
// 1. the connection drops right after the host broadcast its proof transaction (the node got
//    it, the host never heard back) and the RPC stays away for a few seconds;
// 2. the host's pending proof transaction is dropped from anvil's pool (automine off);
// 3. it is replaced in the pool by another transaction with the same nonce;
// 4. a transaction sent with the host's key behind the node's back leaves its nonce stale.
// In all, everything the client signed ends up proven exactly once.

let network: LocalNetwork;
let proxy: TcpProxy;
let host: Awaited<ReturnType<typeof startInProcessHost>>;
const hostAddress = privateKeyToAccount(demoKeys.host).address;
const prompts = ["Genesis 1:1", "And God said", "In the beginning", "And the earth was", "Let there be light", "And God saw the light"];

beforeAll(async () => {
  network = await startNetwork();
  proxy = await startTcpProxy(new URL(network.anvil.rpcUrl));
  host = await startInProcessHost(network, {
    extra: {
      rpcUrl: proxy.url,
      batch: { delayMs: 0, idleFlushSeconds: 3_600 },
      limits: { sessionCacheMs: 30_000 },
      chain: { pollingIntervalMs: localPollingIntervalMs, receiptTimeoutMs: 1_000 },
    },
    submitterTickMs: 300,
  });
}, 45_000);
afterAll(async () => {
  await anvilRpc(network, "evm_setAutomine", [true]).catch(() => undefined);
  proxy?.setDown(false);
  await host?.stop();
  await proxy?.close();
  await network?.anvil.stop();
});

const marketplace = () => network.deployment.jobMarketplace;
const proven = async (session: Session) => (await getSession(network.publicClient, { marketplace: marketplace(), jobId: session.jobId })).provenTokens;
const nonce = (tag: "latest" | "pending") => network.publicClient.getTransactionCount({ address: hostAddress, blockTag: tag });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await sleep(100);
  }
}

const open = () => openUserSession(network, 100n);

/** Chats until one more checkpoint interval is signed (a proof falls due). */
async function signOneInterval(session: Session): Promise<void> {
  const target = session.cumulativeTokens + session.proofInterval;
  for (let i = 0; session.cumulativeTokens < target; i++) {
    expect(i).toBeLessThan(10);
    await chat(session, { messages: [{ role: "user", content: prompts[i % prompts.length]! }], maxTokens: 40 });
  }
}

/** Closes through the host and checks that every signed token was proven exactly once (the host's view too). */
async function closeExactly(session: Session): Promise<void> {
  const signedTotal = await closeSettledExactly(network, session);
  expect(BigInt((await hostView(host.url, session.jobId)).provenTokens)).toBe(signedTotal);
}

type ProofInPool = { session: Session; minedBefore: number; signedAtDue: bigint };

/** With automine off: opens a session, signs one interval and waits until the host's proof transaction sits in the pool. */
async function withProofInPool(run: (context: ProofInPool) => Promise<void>): Promise<void> {
  const session = await open();
  await anvilRpc(network, "evm_setAutomine", [false]);
  try {
    const minedBefore = await nonce("latest");
    await signOneInterval(session);
    const signedAtDue = session.cumulativeTokens;
    await until("the host's proof transaction is in the pool", async () => (await nonce("pending")) > minedBefore, 10_000);
    await run({ session, minedBefore, signedAtDue });
  } finally {
    await anvilRpc(network, "evm_setAutomine", [true]);
  }
}

describe("chain faults under a running host", () => {
  it("the RPC drops right after the proof transaction is broadcast and stays away 3 s: the host keeps serving, and every signed token is proven exactly once", async () => {
    const session = await open();
    const cut = proxy.cutAfter("eth_sendRawTransaction", 3_000);
    await signOneInterval(session);
    const signedAtDue = session.cumulativeTokens;
    const minedBefore = await nonce("latest");
    await Promise.race([cut, sleep(15_000).then(() => Promise.reject(new Error("the host never broadcast its proof")))]);

    // The transaction reached anvil (automine): proven on chain, though the host did not hear back.
    expect(await proven(session)).toBe(signedAtDue);
    expect(await nonce("latest")).toBe(minedBefore + 1);

    // During the outage the node is alive and serves the session it knows (read from chain before).
    expect((await fetch(`${host.url}/health`)).status).toBe(200);
    await chat(session, { messages: [{ role: "user", content: "And the evening" }], maxTokens: 20 });
    expect(BigInt((await hostView(host.url, session.jobId)).signedTokens)).toBe(session.cumulativeTokens);

    // RPC back: the host's retries do not put the same receipt into a second transaction.
    await sleep(3_500);
    expect(proxy.stats.refused).toBeGreaterThan(0);
    await sleep(2_000);
    expect(await proven(session)).toBe(signedAtDue);
    expect(await nonce("latest")).toBe(minedBefore + 1);

    // The session goes on past another interval from the landed proof: the next proof is due,
    // built from the chain's provenTokens (not from the host's stale view), and lands once.
    for (let i = 0; session.cumulativeTokens < signedAtDue + session.proofInterval; i++) {
      expect(i).toBeLessThan(10);
      await chat(session, { messages: [{ role: "user", content: prompts[i % prompts.length]! }], maxTokens: 40 });
    }
    await until("a second checkpoint proven", async () => (await proven(session)) > signedAtDue, 15_000);
    expect(await nonce("latest")).toBe(minedBefore + 2);
    await closeExactly(session);
  }, 40_000);

  // Regression: a retried broadcast meeting "nonce too low" because the host's own transaction was
  // mined meanwhile used to be recorded as dropped, and the valid receipt then as refused.
  it("after a lost broadcast answer, the host records its proof as mined (its own view catches up with the chain)", async () => {
    const session = await open();
    const cut = proxy.cutAfter("eth_sendRawTransaction", 2_000);
    await signOneInterval(session);
    const signedAtDue = session.cumulativeTokens;
    await Promise.race([cut, sleep(15_000).then(() => Promise.reject(new Error("the host never broadcast its proof")))]);
    await until("proven on chain", async () => (await proven(session)) === signedAtDue, 5_000);
    await until("the host's own view shows the proof", async () => BigInt((await hostView(host.url, session.jobId)).provenTokens) === signedAtDue, 10_000);
  }, 30_000);

  it(
    "a proof transaction dropped from the pool (automine off) is broadcast again after the receipt timeout and proven exactly once",
    () =>
      withProofInPool(async ({ session, minedBefore, signedAtDue }) => {
        const [pendingBefore] = ((await anvilRpc(network, "eth_getBlockByNumber", ["pending", false])) as { transactions: string[] }).transactions;
        await anvilRpc(network, "anvil_dropAllTransactions", []);
        expect(await nonce("pending")).toBe(minedBefore);

        // receiptTimeoutMs is 1 s: the host stops waiting, and its housekeeping re-broadcasts the same bytes.
        await until("the host's proof transaction is back in the pool", async () => (await nonce("pending")) > minedBefore, 35_000);
        const [pendingAfter] = ((await anvilRpc(network, "eth_getBlockByNumber", ["pending", false])) as { transactions: string[] }).transactions;
        expect(pendingAfter).toBe(pendingBefore);
        expect(await nonce("pending")).toBe(minedBefore + 1);

        await anvilRpc(network, "evm_mine", []);
        expect(await proven(session)).toBe(signedAtDue);
        await anvilRpc(network, "evm_setAutomine", [true]);
        await until("the host sees its proof mined", async () => BigInt((await hostView(host.url, session.jobId)).provenTokens) === signedAtDue, 10_000);
        expect(await nonce("latest")).toBe(minedBefore + 1);
        await closeExactly(session);
      }),
    55_000,
  );

  it(
    "a proof transaction replaced in the pool by another with its nonce is proven again at once, exactly once",
    () =>
      withProofInPool(async ({ session, minedBefore, signedAtDue }) => {
        const fees = await network.publicClient.estimateFeesPerGas();
        await walletFor(network, demoKeys.host).sendTransaction({
          to: hostAddress,
          value: 0n,
          nonce: minedBefore,
          maxFeePerGas: fees.maxFeePerGas * 10n,
          maxPriorityFeePerGas: fees.maxPriorityFeePerGas * 10n + 10n ** 9n,
        });
        await anvilRpc(network, "evm_mine", []);
        expect(await nonce("latest")).toBe(minedBefore + 1);
        expect(await proven(session)).toBe(0n);

        // No further client activity: the host notices the replacement and proves the receipt again.
        await anvilRpc(network, "evm_setAutomine", [true]);
        await until("the replaced proof is proven again", async () => (await proven(session)) === signedAtDue, 20_000);
        await closeExactly(session);
      }),
    55_000,
  );

  it("a transaction sent with the host's key behind the node's back (a nonce gap) does not stop the next proof", async () => {
    const session = await open();
    await signOneInterval(session);
    const first = session.cumulativeTokens;
    await until("the first proof lands", async () => (await proven(session)) === first, 10_000);
    const hash = await walletFor(network, demoKeys.host).sendTransaction({ to: hostAddress, value: 0n });
    await network.publicClient.waitForTransactionReceipt({ hash });
    await signOneInterval(session);
    const second = session.cumulativeTokens;
    await until("the next proof lands despite the used nonce", async () => (await proven(session)) === second, 15_000);
    await closeExactly(session);
  }, 55_000);
});
