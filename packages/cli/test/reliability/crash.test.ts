import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat, closeSession, getSession, HostUnreachableError, type HostRetry, type Session } from "@session-jobs/sdk";
import { demoKeys, walletFor, type LocalNetwork } from "../../src/demo/localNetwork.ts";
import { privateKeyToAccount } from "viem/accounts";
import {
  anvilRpc,
  freePort,
  hostView,
  openUserSession,
  proofEvents,
  register,
  spawnHost,
  startNetwork,
  waitReady,
  writeHostConfig,
  type HostProcess,
} from "./harness.ts";

// A host killed with SIGKILL after receipts were signed (and durably stored) but before any was
// proven: the restarted process on the same SQLite file must get paid for every one, once.

let network: LocalNetwork;
beforeAll(async () => {
  network = await startNetwork();
}, 30_000);
afterAll(() => network?.anvil.stop());

const prompts = ["Genesis 1:1", "And God said", "In the beginning", "And the earth was", "Let there be light", "And God saw the light"];

const open = (proofInterval: bigint) => openUserSession(network, proofInterval);

/**
 * A describe's host whose proofs wait 10 minutes for company and whose idle sessions wait an hour, so
 * nothing is proven before its test kills it: `start` registers and starts it on a free port, `restart`
 * starts it again on the same config and database; after the describe it is killed and its files removed.
 */
function unprovingHost() {
  let config: ReturnType<typeof writeHostConfig> | undefined;
  const state: { host?: HostProcess; url: string } = { url: "" };
  afterAll(async () => {
    await state.host?.kill9();
    config?.cleanup();
  });
  const spawn = () => (state.host = spawnHost(config!.path));
  return {
    get host() {
      return state.host!;
    },
    get url() {
      return state.url;
    },
    async start() {
      const port = await freePort();
      config = writeHostConfig(network, port, { batch: { delayMs: 600_000, idleFlushSeconds: 3_600 } });
      await register(config.input);
      state.url = `http://127.0.0.1:${port}`;
      await waitReady(state.url, 45_000, spawn().child);
    },
    /** Same config, same database; not waited for. */
    restart: spawn,
  };
}

describe("host crash (kill -9) before its receipts are proven", () => {
  const crashing = unprovingHost();

  it("recovers every signed receipt from SQLite after restart and is paid for all of them exactly once", async () => {
    await crashing.start();
    const { url } = crashing;

    const session = await open(100n);
    expect(session.hostUrl).toBe(url);
    // More than two checkpoint intervals signed: two proofs would have been due.
    for (let i = 0; session.cumulativeTokens < 250n; i++) {
      // Greedy: at temperature 1 the embedded model may end an answer at once (an empty text).
      const { text } = await chat(session, { messages: [{ role: "user", content: prompts[i % prompts.length]! }], maxTokens: 40, body: { temperature: 0 } });
      expect(text.length).toBeGreaterThan(0);
      expect(i).toBeLessThan(30);
    }
    const signedBeforeCrash = session.cumulativeTokens;
    const before = await hostView(url, session.jobId);
    expect(BigInt(before.signedTokens)).toBe(signedBeforeCrash);
    expect(before.provenTokens).toBe("0");
    expect((await getSession(network.publicClient, { marketplace: network.deployment.jobMarketplace, jobId: session.jobId })).provenTokens).toBe(0n);

    await crashing.host.kill9();
    expect(crashing.host.child.signalCode).toBe("SIGKILL");
    await expect(fetch(`${url}/health`)).rejects.toThrow();

    // Same config, same database.
    await waitReady(url, 45_000, crashing.restart().child);
    const recovered = await hostView(url, session.jobId);
    expect(BigInt(recovered.signedTokens)).toBe(signedBeforeCrash);
    expect(recovered.lastSequence).toBe(before.lastSequence);

    // With the client silent (no request, no close), the restarted host proves what it recovered on its own.
    const marketplace = network.deployment.jobMarketplace;
    for (let attempt = 0; (await getSession(network.publicClient, { marketplace, jobId: session.jobId })).provenTokens < signedBeforeCrash; attempt++) {
      expect(attempt).toBeLessThan(200);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await getSession(network.publicClient, { marketplace, jobId: session.jobId })).provenTokens).toBe(signedBeforeCrash);
    const recoveredProofs = await proofEvents(network.publicClient, marketplace, session.jobId);
    expect(recoveredProofs.map((log) => log.args.tokens)).toEqual([signedBeforeCrash]);

    // The session goes on where it was: the next sequence is accepted, a replay would not be.
    await chat(session, { messages: [{ role: "user", content: "And the evening" }], maxTokens: 30 });
    const signedTotal = session.cumulativeTokens;
    expect(signedTotal).toBeGreaterThan(signedBeforeCrash);

    const settlement = await closeSession(walletFor(network, demoKeys.user), { session });
    expect(settlement.closedBy).toBe("host");
    expect(settlement.provenTokens).toBe(signedTotal);
    expect(settlement.payment).toBe(signedTotal * session.pricePerToken);
    expect(settlement.refund).toBe(session.deposit - settlement.payment);
    const proofs = await proofEvents(network.publicClient, network.deployment.jobMarketplace, session.jobId);
    // Nothing submitted twice: the proofs' token counts add up to the signed total exactly.
    expect(proofs.reduce((sum, log) => sum + log.args.tokens, 0n)).toBe(signedTotal);
    expect(new Set(proofs.map((log) => log.args.proofHash)).size).toBe(proofs.length);
    const final = await hostView(url, session.jobId);
    expect(BigInt(final.provenTokens)).toBe(signedTotal);
    expect(crashing.host.child.exitCode).toBeNull();
    expect(await crashing.host.sigint()).toBe(0);
  }, 58_000);
});

describe("host crash (kill -9) just before the client closes", () => {
  // Nothing is proven before the close: every receipt is one the host holds and would lose to a depositor's settlement.
  const crashing = unprovingHost();

  it("the close asks the host again until it has restarted: the host settles and is paid for every receipt it signed", async () => {
    await crashing.start();
    const { url } = crashing;

    const session = await open(100n);
    for (let i = 0; session.cumulativeTokens < 150n; i++) {
      await chat(session, { messages: [{ role: "user", content: prompts[i % prompts.length]! }], maxTokens: 40, body: { temperature: 0 } });
      expect(i).toBeLessThan(30);
    }
    const signed = session.cumulativeTokens;
    // The newest receipt reaches the host just after its answer: wait for it (a loaded machine takes seconds).
    await expect.poll(async () => BigInt((await hostView(url, session.jobId)).signedTokens), { timeout: 20_000 }).toBe(signed);
    await crashing.host.kill9();

    // The newcomer's case: the close begins while the host is down (it used to settle as the depositor at once, for 0 tokens).
    const retries: HostRetry[] = [];
    const closing = closeSession(walletFor(network, demoKeys.user), { session, hostTimeoutMs: 120_000, onHostRetry: (retry) => retries.push(retry) });
    await expect.poll(() => retries.length, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(retries[0]!.error).toBeInstanceOf(HostUnreachableError);
    // Refused, or reset where a kept-alive connection to the killed process was taken before its close was seen.
    expect(["ECONNREFUSED", "ECONNRESET"]).toContain((retries[0]!.error as HostUnreachableError).code);
    // Same config, same database.
    crashing.restart();
    const settlement = await closing;
    expect(settlement.closedBy).toBe("host");
    expect(settlement.hostError).toBeUndefined();
    expect(settlement.provenTokens).toBe(signed);
    expect(settlement.payment).toBe(signed * session.pricePerToken);
    expect(settlement.refund).toBe(session.deposit - settlement.payment);
    const proofs = await proofEvents(network.publicClient, network.deployment.jobMarketplace, session.jobId);
    expect(proofs.reduce((sum, log) => sum + log.args.tokens, 0n)).toBe(signed);
    expect(await crashing.host.sigint()).toBe(0);
  }, 180_000);
});

describe("host crash (kill -9) while its proof transaction is in flight", () => {
  let host: HostProcess | undefined;
  const cleanups: (() => void)[] = [];
  afterAll(async () => {
    await host?.kill9();
    await anvilRpc(network, "evm_setAutomine", [true]).catch(() => undefined);
    cleanups.forEach((cleanup) => cleanup());
  });

  const hostAddress = privateKeyToAccount(demoKeys.host).address;
  const nonce = async (tag: "latest" | "pending") => network.publicClient.getTransactionCount({ address: hostAddress, blockTag: tag });

  /** Starts a host that proves at once, signs > one interval, and kills it with its proof broadcast but not mined. */
  async function crashWithProofInMempool() {
    const port = await freePort();
    const config = writeHostConfig(network, port, { batch: { delayMs: 0, idleFlushSeconds: 3_600 } });
    cleanups.push(config.cleanup);
    await register(config.input);
    const url = `http://127.0.0.1:${port}`;
    host = spawnHost(config.path);
    await waitReady(url, 45_000, host.child);
    const session = await open(100n);
    await anvilRpc(network, "evm_setAutomine", [false]);
    const mined = await nonce("latest");
    for (let i = 0; session.cumulativeTokens < 100n; i++) {
      await chat(session, { messages: [{ role: "user", content: prompts[i % prompts.length]! }], maxTokens: 40 });
    }
    // The proof is due: wait until the host's transaction sits in the mempool, then kill it.
    const deadline = Date.now() + 15_000;
    while ((await nonce("pending")) === mined) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 50));
    }
    await host.kill9();
    expect(await nonce("pending")).toBe(mined + 1);
    return { session, config, url, mined };
  }

  async function restartAndClose(session: Session, configPath: string, url: string) {
    host = spawnHost(configPath);
    await waitReady(url, 45_000, host.child);
    const signedTotal = session.cumulativeTokens;
    const settlement = await closeSession(walletFor(network, demoKeys.user), { session });
    expect(settlement.closedBy).toBe("host");
    expect(settlement.provenTokens).toBe(signedTotal);
    expect(settlement.payment).toBe(signedTotal * session.pricePerToken);
    const proofs = await proofEvents(network.publicClient, network.deployment.jobMarketplace, session.jobId);
    expect(proofs.reduce((sum, log) => sum + log.args.tokens, 0n)).toBe(signedTotal);
    expect(new Set(proofs.map((log) => log.args.proofHash)).size).toBe(proofs.length);
    expect(await host.sigint()).toBe(0);
    return proofs;
  }

  it("the transaction is mined while the host is down: the restarted host sees it and never proves it again", async () => {
    const { session, config, url, mined } = await crashWithProofInMempool();
    await anvilRpc(network, "evm_mine", []);
    await anvilRpc(network, "evm_setAutomine", [true]);
    expect(await nonce("latest")).toBe(mined + 1);
    const provenWhileDown = (await getSession(network.publicClient, { marketplace: network.deployment.jobMarketplace, jobId: session.jobId })).provenTokens;
    expect(provenWhileDown).toBeGreaterThanOrEqual(100n);
    const proofs = await restartAndClose(session, config.path, url);
    // The first proof is the one broadcast before the crash; the close proves only the rest.
    expect(proofs[0]!.args.tokens).toBe(provenWhileDown);
  }, 58_000);

  it("the transaction is dropped from the mempool while the host is down: the restarted host gets the receipt proven", async () => {
    const { session, config, url, mined } = await crashWithProofInMempool();
    await anvilRpc(network, "anvil_dropAllTransactions", []);
    await anvilRpc(network, "evm_setAutomine", [true]);
    expect(await nonce("pending")).toBe(mined);
    expect((await getSession(network.publicClient, { marketplace: network.deployment.jobMarketplace, jobId: session.jobId })).provenTokens).toBe(0n);
    await restartAndClose(session, config.path, url);
  }, 58_000);
});
