import { parseEther, type Address } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { getBalance, getTransactionReceipt, readContract } from "viem/actions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostEarningsAbi, jobMarketplaceWithModelsAbi } from "../abis.ts";
import { HostUnreachableError, SessionBadSignatureError } from "../errors/host.ts";
import { HostAnswerTooLargeError, SessionClosingError, TokenCountMismatchError } from "../errors/session.ts";
import { createSessionFetch } from "../adapters/createSessionFetch.ts";
import { maxAnswerBytes } from "../session/readBody.ts";
import type { Session } from "../session/types.ts";
import { startTestChain, type TestChain } from "../testUtils/chain.ts";
import { endlessAnswerAt } from "../testUtils/endlessAnswer.ts";
import { waitFor } from "../testUtils/waitFor.ts";
import { chat } from "./chat.ts";
import { closeSession } from "./closeSession.ts";
import type { Settlement } from "./getSettlement.ts";
import { getSession } from "./getSession.ts";
import { openSession } from "./openSession.ts";
import { streamChat } from "./streamChat.ts";
import { watchProofs, type ProofSubmission } from "./watchProofs.ts";
import { watchSettlement } from "./watchSettlement.ts";

let t: TestChain;
beforeAll(async () => {
  t = await startTestChain();
});
afterAll(() => t?.stop());

const hostEarningsOf = (host: Address, token: Address) =>
  readContract(t.publicClient, { address: t.contracts.hostEarnings, abi: hostEarningsAbi, functionName: "getBalance", args: [host, token] });
const treasuryEth = () =>
  readContract(t.publicClient, { address: t.contracts.jobMarketplace, abi: jobMarketplaceWithModelsAbi, functionName: "accumulatedTreasuryETH" });
const treasuryTokens = (token: Address) =>
  readContract(t.publicClient, {
    address: t.contracts.jobMarketplace,
    abi: jobMarketplaceWithModelsAbi,
    functionName: "accumulatedTreasuryTokens",
    args: [token],
  });

/** The split the contract must make: 10% fee, the rest to the host, the unused deposit back. */
function expectExactSplit(settlement: Settlement, session: Session, provenTokens: bigint) {
  const payment = provenTokens * session.pricePerToken;
  expect(settlement).toMatchObject({
    jobId: session.jobId,
    provenTokens,
    payment,
    treasuryFee: payment / 10n,
    hostEarnings: payment - payment / 10n,
    refund: session.deposit - payment,
  });
}

const story = [{ role: "user" as const, content: "In the beginning" }];

/** An ETH session with the test host that proves every 100 tokens. */
const openEthSession = () =>
  openSession(t.userWallet, { contracts: t.contracts, host: t.hostWallet.account.address, deposit: parseEther("0.001"), proofInterval: 100n });

describe("a whole session against the contracts", () => {
  it("ETH: chat and stream, a mid-session proof, close through the host, exact settlement", async () => {
    const user = t.userWallet.account.address;
    const host = t.hostWallet.account.address;
    const userBalanceBefore = await getBalance(t.publicClient, { address: user });
    const [earningsBefore, treasuryBefore] = await Promise.all([hostEarningsOf(host, "0x0000000000000000000000000000000000000000"), treasuryEth()]);

    const deposit = parseEther("0.001");
    const { session, transactionHash } = await openSession(t.userWallet, { contracts: t.contracts, host, modelId: t.modelId, deposit, proofInterval: 100n });
    const proofs: ProofSubmission[] = [];
    const settlements: Settlement[] = [];
    const marketplace = t.contracts.jobMarketplace;
    const unwatchProofs = watchProofs(t.publicClient, { marketplace, jobId: session.jobId, onProof: (proof) => proofs.push(proof) });
    const unwatchSettlement = watchSettlement(t.publicClient, { marketplace, jobId: session.jobId, onSettlement: (s) => settlements.push(s) });

    const first = await chat(session, { messages: story, maxTokens: 20 });
    expect(t.host.receipts.get(session.jobId)?.cumulativeTokens).toBe(first.cumulativeTokens);
    await t.proveAsHost(session.jobId, t.host.receipts.get(session.jobId)!);
    expect((await getSession(t.publicClient, { marketplace, jobId: session.jobId })).provenTokens).toBe(first.cumulativeTokens);

    const stream = streamChat(session, { messages: [...story, { role: "assistant", content: first.text }, { role: "user", content: "Go on" }], maxTokens: 30 });
    let streamed = "";
    for await (const delta of stream) streamed += delta;
    const second = await stream.result;
    expect(second.text).toBe(streamed);
    expect(second.cumulativeTokens).toBe(first.cumulativeTokens + BigInt(second.promptTokens + second.completionTokens));

    const settlement = await closeSession(t.userWallet, { session });
    expect(settlement.closedBy).toBe("host");
    expect(settlement.completedBy).toBe(host);
    expectExactSplit(settlement, session, second.cumulativeTokens);

    // Money moved exactly so: the user paid the payment and the gas of one transaction (the open).
    const openReceipt = await getTransactionReceipt(t.publicClient, { hash: transactionHash });
    const openGas = openReceipt.gasUsed * openReceipt.effectiveGasPrice;
    expect(await getBalance(t.publicClient, { address: user })).toBe(userBalanceBefore - openGas - settlement.payment);
    expect(await hostEarningsOf(host, "0x0000000000000000000000000000000000000000")).toBe(earningsBefore + settlement.hostEarnings);
    expect(await treasuryEth()).toBe(treasuryBefore + settlement.treasuryFee);
    expect((await getSession(t.publicClient, { marketplace, jobId: session.jobId })).status).toBe("completed");

    await waitFor(() => proofs.length === 2 && settlements.length === 1);
    expect(proofs.map((proof) => proof.tokens)).toEqual([first.cumulativeTokens, second.cumulativeTokens - first.cumulativeTokens]);
    expect(proofs.every((proof) => proof.host === host && proof.verified)).toBe(true);
    const { closedBy: _closedBy, ...onChainSettlement } = settlement;
    expect(settlements).toEqual([onChainSettlement]);
    unwatchProofs();
    unwatchSettlement();
  });

  it("USDC with a permit: exact token balances after the host settles", async () => {
    const user = t.userWallet.account.address;
    const host = t.hostWallet.account.address;
    const usdc = t.contracts.usdc;
    const [userBefore, earningsBefore, treasuryBefore] = await Promise.all([t.usdcBalance(user), hostEarningsOf(host, usdc), treasuryTokens(usdc)]);

    const { session } = await openSession(t.userWallet, { contracts: t.contracts, host, token: usdc, deposit: 2_000_000n, proofInterval: 100n });
    const first = await chat(session, { messages: story, maxTokens: 12 });
    const second = await chat(session, { messages: [{ role: "user", content: "And the earth" }], maxTokens: 12 });
    expect(second.cumulativeTokens).toBeGreaterThan(first.cumulativeTokens);

    const settlement = await closeSession(t.userWallet, { session });
    expectExactSplit(settlement, session, session.cumulativeTokens);
    expect(await t.usdcBalance(user)).toBe(userBefore - settlement.payment);
    expect(await hostEarningsOf(host, usdc)).toBe(earningsBefore + settlement.hostEarnings);
    expect(await treasuryTokens(usdc)).toBe(treasuryBefore + settlement.treasuryFee);
  });

  it("USDC with approve: an overclaiming host gets no receipt and is paid only for what was signed", async () => {
    const host = t.hostWallet.account.address;
    const { session } = await openSession(t.userWallet, {
      contracts: t.contracts,
      host,
      token: t.contracts.usdc,
      deposit: 2_000_000n,
      approval: "approve",
      proofInterval: 100n,
    });
    const honest = await chat(session, { messages: story, maxTokens: 10 });
    t.host.behaviour.overclaimTokens = 50;
    try {
      await expect(chat(session, { messages: story, maxTokens: 10 })).rejects.toBeInstanceOf(TokenCountMismatchError);
    } finally {
      t.host.behaviour.overclaimTokens = 0;
    }
    expect(t.host.receipts.get(session.jobId)?.cumulativeTokens).toBe(honest.cumulativeTokens);

    const settlement = await closeSession(t.userWallet, { session });
    expectExactSplit(settlement, session, honest.cumulativeTokens);
  });

  it("syncs a session that missed the end of a stream before closing, so the host settles for the words it delivered", async () => {
    const { session } = await openEthSession();
    const first = await chat(session, { messages: story, maxTokens: 8 });
    t.host.behaviour.breakStreamAfterWords = 3;
    try {
      await expect(streamChat(session, { messages: story, maxTokens: 8 }).result).rejects.toThrow();
    } finally {
      t.host.behaviour.breakStreamAfterWords = undefined;
    }
    expect(session.resync).toBe(true);
    const broken = t.host.exchanges.get(session.jobId)?.at(-1);
    expect(broken).toMatchObject({ aborted: true, promptTokens: 0, completionTokens: 3, cumulativeTokens: first.cumulativeTokens + 3n });

    const settlement = await closeSession(t.userWallet, { session });
    expect(settlement.closedBy).toBe("host");
    expect(t.host.receipts.get(session.jobId)).toMatchObject({ cumulativeTokens: broken!.cumulativeTokens, transcriptHash: broken!.transcriptHash });
    expectExactSplit(settlement, session, broken!.cumulativeTokens);
    expect(session.resync).toBe(false);
  });

  it("a request signed by a key other than the registered session signer is refused", async () => {
    const { session } = await openSession(t.userWallet, {
      contracts: t.contracts,
      host: t.hostWallet.account.address,
      deposit: parseEther("0.001"),
    });
    await expect(chat({ ...session, sessionKey: generatePrivateKey() }, { messages: story })).rejects.toBeInstanceOf(SessionBadSignatureError);
    const settlement = await closeSession(t.userWallet, { session });
    expectExactSplit(settlement, session, 0n);
  });

  it("falls back to completeSessionJob when the host does not answer, settling what was proven", async () => {
    const { session } = await openEthSession();
    const first = await chat(session, { messages: story, maxTokens: 8 });
    await t.proveAsHost(session.jobId, t.host.receipts.get(session.jobId)!);
    await chat(session, { messages: story, maxTokens: 8 });

    t.host.behaviour.closeHangs = true;
    try {
      const settlement = await closeSession(t.userWallet, { session, hostTimeoutMs: 300 });
      expect(settlement.closedBy).toBe("client");
      expect(settlement.completedBy).toBe(t.userWallet.account.address);
      expect(settlement.hostError).toBeInstanceOf(HostUnreachableError);
      expectExactSplit(settlement, session, first.cumulativeTokens);
    } finally {
      t.host.behaviour.closeHangs = false;
    }
  });

  it("closes while a stream hangs: the request is cancelled, the host settles, nothing waits on the hung answer", async () => {
    const { session } = await openEthSession();
    const first = await chat(session, { messages: story, maxTokens: 8 });
    t.host.behaviour.wordDelayMs = 3_600_000;
    try {
      const hung = streamChat(session, { messages: story, maxTokens: 8 });
      await waitFor(() => t.host.requests.some((request) => request.path === "/v1/chat/completions" && request.status === undefined));
      const settlement = await closeSession(t.userWallet, { session, hostTimeoutMs: 20_000 });
      await expect(hung.result).rejects.toBeInstanceOf(SessionClosingError);
      expect(settlement.closedBy).toBe("host");
      expectExactSplit(settlement, session, first.cumulativeTokens);
    } finally {
      t.host.behaviour.wordDelayMs = 0;
    }
  });

  it("closes while an adapter stream is held unread: the exchange lets go of the session, the host settles, the reader gets the error", async () => {
    const { session } = await openEthSession();
    const first = await chat(session, { messages: story, maxTokens: 8 });
    t.host.behaviour.wordDelayMs = 3_600_000;
    try {
      // A caller that holds the response of a stream and never reads it keeps the exchange suspended.
      const sessionFetch = createSessionFetch(session);
      const held = sessionFetch(`${session.hostUrl}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ messages: story, stream: true }) });
      await waitFor(() => t.host.requests.some((request) => request.path === "/v1/chat/completions" && request.status === undefined));
      const settlement = await closeSession(t.userWallet, { session, hostTimeoutMs: 20_000 });
      expect(settlement.closedBy).toBe("host");
      expectExactSplit(settlement, session, first.cumulativeTokens);
      await expect((await held).text()).rejects.toBeInstanceOf(SessionClosingError);
    } finally {
      t.host.behaviour.wordDelayMs = 0;
    }
  });

  it("reads at most 64 MiB of the host's close answer, then settles on chain", async () => {
    const { session } = await openEthSession();
    const first = await chat(session, { messages: story, maxTokens: 8 });
    const { fetch: hostile, sent } = endlessAnswerAt("/v1/session/close");
    const settlement = await closeSession(t.userWallet, { session, fetch: hostile });
    expect(settlement.closedBy).toBe("client");
    expect(settlement.hostError).toBeInstanceOf(HostAnswerTooLargeError);
    expect(sent()).toBeLessThanOrEqual(maxAnswerBytes + 2 * (1 << 20));
    expectExactSplit(settlement, session, 0n);
    expect(first.cumulativeTokens).toBeGreaterThan(0n);
  });
});
