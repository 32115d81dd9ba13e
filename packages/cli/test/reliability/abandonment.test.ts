import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateKeyToAccount } from "viem/accounts";
import { stringToBytes, zeroAddress } from "viem";
import {
  chat,
  getSession,
  getSettlement,
  hostEarningsAbi,
  jobMarketplaceWithModelsAbi,
  openSession,
  signSessionRequestHeaders,
  type Session,
} from "@session-jobs/sdk";
import { demoKeys, walletFor, type LocalNetwork } from "../../src/demo/localNetwork.ts";
import {
  freePort,
  hostView,
  register,
  spawnHost,
  startInProcessHost,
  startNetwork,
  timeTravel,
  untilHostSeesHead,
  waitReady,
  writeHostConfig,
  type HostProcess,
} from "./harness.ts";

// Both abandonment paths on anvil with its clock moved forward: whoever stays gets exactly what
// the receipts proven on chain say, and the rest of the deposit goes back to the user.

let network: LocalNetwork;
beforeAll(async () => {
  network = await startNetwork();
}, 30_000);
afterAll(() => network?.anvil.stop());

const hostAddress = privateKeyToAccount(demoKeys.host).address;
const userAddress = privateKeyToAccount(demoKeys.user).address;
const prompts = ["Genesis 1:1", "And God said", "In the beginning", "And the earth was"];

async function open(maxDuration: bigint): Promise<Session> {
  const { session } = await openSession(walletFor(network, demoKeys.user), {
    contracts: network.deployment,
    host: hostAddress,
    deposit: 10n ** 16n,
    proofInterval: 100n,
    maxDuration,
    modelId: network.modelId,
  });
  return session;
}

const onChain = (jobId: bigint) => getSession(network.publicClient, { marketplace: network.deployment.jobMarketplace, jobId });
const hostCredit = () =>
  network.publicClient.readContract({
    address: network.deployment.hostEarnings,
    abi: hostEarningsAbi,
    functionName: "getBalance",
    args: [hostAddress, zeroAddress],
  });

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Chats through the SDK (receipts signed) until the signed total reaches `tokens`. */
async function chatUntil(session: Session, tokens: bigint) {
  for (let i = 0; session.cumulativeTokens < tokens; i++) {
    expect(i).toBeLessThan(20);
    await chat(session, { messages: [{ role: "user", content: prompts[i % prompts.length]! }], maxTokens: 40 });
  }
}

describe("host disappears: the user times the session out after maxDuration", () => {
  let host: HostProcess | undefined;
  let cleanup: (() => void) | undefined;
  afterAll(async () => {
    await host?.kill9();
    cleanup?.();
  });

  it("refunds everything unproven, to the wei; the host is paid only what it proved before vanishing", async () => {
    const port = await freePort();
    // Proofs go out as soon as due; no deadline flush (it would prove everything of a 2-minute session).
    const config = writeHostConfig(network, port, { batch: { delayMs: 0, idleFlushSeconds: 3_600, deadlineMarginSeconds: 0 } });
    cleanup = config.cleanup;
    await register(config.input);
    const url = `http://127.0.0.1:${port}`;
    host = spawnHost(config.path);
    await waitReady(url, 45_000, host.child);

    const maxDuration = 120n;
    const session = await open(maxDuration);
    await chatUntil(session, 100n);
    const proven = (
      await until(
        "the first checkpoint proof",
        () => onChain(session.jobId),
        (s) => s.provenTokens >= 100n,
      )
    ).provenTokens;
    // One more exchange, signed but below the next checkpoint: never proven, because the host vanishes.
    await chat(session, { messages: [{ role: "user", content: "Let there be light" }], maxTokens: 40 });
    expect(session.cumulativeTokens).toBeGreaterThan(proven);
    expect(session.cumulativeTokens - proven).toBeLessThan(100n);
    expect(BigInt((await hostView(url, session.jobId)).signedTokens)).toBe(session.cumulativeTokens);
    await host.kill9();

    const user = walletFor(network, demoKeys.user);
    const timeout = {
      address: network.deployment.jobMarketplace,
      abi: jobMarketplaceWithModelsAbi,
      functionName: "triggerSessionTimeout",
      args: [session.jobId],
      account: user.account,
    } as const;
    // Before maxDuration the chain refuses.
    await expect(network.publicClient.simulateContract(timeout)).rejects.toThrow(/SessionNotExpired/);

    const created = await onChain(session.jobId);
    const block = await network.publicClient.getBlock();
    await timeTravel(network, Number(created.createdAt + maxDuration - block.timestamp) + 1);

    const userBefore = await network.publicClient.getBalance({ address: userAddress });
    const creditBefore = await hostCredit();
    const hash = await user.writeContract(timeout);
    const receipt = await network.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
    const gas = receipt.gasUsed * receipt.effectiveGasPrice;

    const after = await onChain(session.jobId);
    expect(after.status).toBe("timedOut");
    expect(after.provenTokens).toBe(proven);
    const settlement = await getSettlement(network.publicClient, {
      marketplace: network.deployment.jobMarketplace,
      jobId: session.jobId,
      fromBlock: session.openedAtBlock,
    });
    const payment = proven * session.pricePerToken;
    expect(settlement?.provenTokens).toBe(proven);
    expect(settlement?.payment).toBe(payment);
    expect(settlement?.treasuryFee).toBe(payment / 10n);
    expect(settlement?.hostEarnings).toBe(payment - payment / 10n);
    expect(settlement?.refund).toBe(session.deposit - payment);
    // Exact balances: the user gets the refund minus the gas of its own call; the host is credited its share.
    expect(await network.publicClient.getBalance({ address: userAddress })).toBe(userBefore + (session.deposit - payment) - gas);
    expect(await hostCredit()).toBe(creditBefore + payment - payment / 10n);
  }, 58_000);
});

describe("user disappears: the host claims the session after ABANDONMENT_TIMEOUT", () => {
  let offsetMs = 0;
  let host: Awaited<ReturnType<typeof startInProcessHost>> | undefined;
  afterAll(() => host?.stop());

  it("is paid exactly what was proven; the user gets the rest back without doing anything", async () => {
    // The host's clock follows anvil's (which an earlier test moved ahead); its housekeeping runs every 200 ms.
    const syncClock = async () => {
      offsetMs = Number((await network.publicClient.getBlock()).timestamp) * 1000 - Date.now();
    };
    await syncClock();
    host = await startInProcessHost(network, { extra: { batch: { delayMs: 0 } }, now: () => Date.now() + offsetMs, submitterTickMs: 200 });
    const timeoutSeconds = Number(
      await network.publicClient.readContract({
        address: network.deployment.jobMarketplace,
        abi: jobMarketplaceWithModelsAbi,
        functionName: "ABANDONMENT_TIMEOUT",
      }),
    );
    expect(timeoutSeconds).toBe(24 * 3600);

    const session = await open(30n * 86_400n);
    await chatUntil(session, 150n);
    await host.node.flushProofs();
    const signed = session.cumulativeTokens;
    await until(
      "every receipt proven",
      () => onChain(session.jobId),
      (s) => s.provenTokens === signed,
    );

    // The user's last act: a request it never signs a receipt for. The host served it and is not paid for it.
    const text = JSON.stringify({ messages: [{ role: "user", content: "Genesis 1:1" }], max_tokens: 20 });
    const sequence = session.sequence + 1n;
    const headers = await signSessionRequestHeaders(privateKeyToAccount(session.sessionKey), session, {
      jobId: session.jobId,
      sequence,
      transcriptHash: session.transcriptHash,
      endpoint: "/v1/chat/completions",
      body: stringToBytes(text),
    });
    const response = await fetch(`${host.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: text,
    });
    expect(response.status).toBe(200);
    const view = await hostView(host.url, session.jobId);
    expect(BigInt(view.servedTokens)).toBeGreaterThan(signed);
    expect(BigInt(view.signedTokens)).toBe(signed);

    const userBefore = await network.publicClient.getBalance({ address: userAddress });
    const creditBefore = await hostCredit();

    // Not yet abandoned: the chain refuses an early claim.
    const claim = {
      address: network.deployment.jobMarketplace,
      abi: jobMarketplaceWithModelsAbi,
      functionName: "claimAbandonedSession",
      args: [session.jobId],
      account: hostAddress,
    } as const;
    await expect(network.publicClient.simulateContract(claim)).rejects.toThrow(/SessionNotAbandoned/);
    await new Promise((r) => setTimeout(r, 600));
    expect((await onChain(session.jobId)).status).toBe("active");

    // A day and a minute later, on both clocks.
    const travel = timeoutSeconds + 60;
    await timeTravel(network, travel);
    // The claim is judged on the chain's clock (once the host has read that block), the silence on the host's.
    await untilHostSeesHead(network, host.url);
    await syncClock();
    const ended = await until(
      "the host's claim",
      () => onChain(session.jobId),
      (s) => s.status !== "active",
    );
    expect(ended.status).toBe("abandoned");
    expect(ended.provenTokens).toBe(signed);

    const settlement = await getSettlement(network.publicClient, {
      marketplace: network.deployment.jobMarketplace,
      jobId: session.jobId,
      fromBlock: session.openedAtBlock,
    });
    const payment = signed * session.pricePerToken;
    expect(settlement?.completedBy).toBe(hostAddress);
    expect(settlement?.payment).toBe(payment);
    expect(settlement?.refund).toBe(session.deposit - payment);
    expect(settlement?.treasuryFee).toBe(payment / 10n);
    // The user paid no gas and got the unproven rest of its deposit pushed back.
    expect(await network.publicClient.getBalance({ address: userAddress })).toBe(userBefore + session.deposit - payment);
    expect(await hostCredit()).toBe(creditBefore + payment - payment / 10n);
  }, 58_000);
});
