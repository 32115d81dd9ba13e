import { createWalletClient, custom, parseEther, type Address } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { getBalance, getTransactionCount, getTransactionReceipt, readContract, waitForTransactionReceipt, writeContract } from "viem/actions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostEarningsAbi, jobMarketplaceWithModelsAbi } from "../abis.ts";
import { ContractRevertError } from "../errors/contract.ts";
import { HostUnreachableError, SessionBadSignatureError } from "../errors/host.ts";
import { HostAnswerTooLargeError, SessionCloseInProgressError, SessionClosingError, TokenCountMismatchError } from "../errors/session.ts";
import { createSessionFetch } from "../adapters/createSessionFetch.ts";
import { maxAnswerBytes } from "../session/readBody.ts";
import type { Session } from "../session/types.ts";
import { startTestChain, type TestChain } from "../testUtils/chain.ts";
import { endlessAnswerAt } from "../testUtils/endlessAnswer.ts";
import { hostTransports } from "../testUtils/transports.ts";
import { waitFor } from "../testUtils/waitFor.ts";
import { chat } from "./chat.ts";
import { closeSession, type HostRetry } from "./closeSession.ts";
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

/** What `fetch` throws for a host that is down (nothing listens on its port). */
const connectionRefused = () =>
  new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }) });

describe("a close that finds the host down (killed, restarting)", () => {
  it("asks again, with a growing pause, until hostTimeoutMs; then the depositor settles what was proven", async () => {
    const { session } = await openEthSession();
    const first = await chat(session, { messages: story, maxTokens: 8 });
    await t.proveAsHost(session.jobId, t.host.receipts.get(session.jobId)!);
    await chat(session, { messages: story, maxTokens: 8 });
    let closes = 0;
    const down: typeof fetch = (input) => {
      if (String(input).endsWith("/v1/session/close")) closes++;
      return Promise.reject(connectionRefused());
    };
    const retries: HostRetry[] = [];
    const startedAt = Date.now();
    const settlement = await closeSession(t.userWallet, { session, fetch: down, hostTimeoutMs: 2_000, onHostRetry: (retry) => retries.push(retry) });
    // The bound was waited out (the timer may fire a clock tick early), never cut short by the first refusal.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_990);
    expect(settlement).toMatchObject({ closedBy: "client", completedBy: t.userWallet.account.address });
    expect(settlement.hostError).toBeInstanceOf(HostUnreachableError);
    expect((settlement.hostError as HostUnreachableError).code).toBe("ECONNREFUSED");
    expectExactSplit(settlement, session, first.cumulativeTokens);
    expect(closes).toBeGreaterThanOrEqual(2);
    expect(retries.length).toBeGreaterThanOrEqual(1);
    // 0.5 s, then twice as long each time, never past the bound.
    for (const [index, retry] of retries.entries()) {
      expect(retry).toMatchObject({ attempt: index + 1, hostTimeoutMs: 2_000, error: expect.any(HostUnreachableError) });
      expect(retry.retryInMs).toBe(Math.min(500 * 2 ** index, 2_000 - retry.waitedMs));
    }
  });

  it("a host back within hostTimeoutMs settles, proving the receipts it holds: nothing signed is lost to it", async () => {
    const { session } = await openEthSession();
    await chat(session, { messages: story, maxTokens: 8 });
    await chat(session, { messages: story, maxTokens: 8 });
    // The host holds the newest receipt and has proven none.
    await waitFor(() => t.host.receipts.get(session.jobId)?.cumulativeTokens === session.cumulativeTokens);
    expect((await getSession(t.publicClient, { marketplace: t.contracts.jobMarketplace, jobId: session.jobId })).provenTokens).toBe(0n);
    let closes = 0;
    // Down for its first three closes (a restart), then up: a 503 while it starts, then the host itself.
    const restarting: typeof fetch = async (input, init) => {
      if (!String(input).endsWith("/v1/session/close")) return globalThis.fetch(input, init);
      closes++;
      if (closes <= 2) throw connectionRefused();
      if (closes === 3) {
        const body = { error: { message: "storage unavailable: starting; retry later", type: "server_error", code: "storage_unavailable" } };
        return new Response(JSON.stringify(body), { status: 503, headers: { "content-type": "application/json" } });
      }
      return globalThis.fetch(input, init);
    };
    const retries: HostRetry[] = [];
    const settling: string[] = [];
    const settlement = await closeSession(t.userWallet, {
      session,
      fetch: restarting,
      hostTimeoutMs: 30_000,
      onHostRetry: (retry) => retries.push(retry),
      onHostSettling: (hash) => settling.push(hash),
    });
    expect(settlement).toMatchObject({ closedBy: "host", completedBy: t.hostWallet.account.address });
    // Told once, when the host answered: its transaction, the one that settled.
    expect(settling).toEqual([settlement.transactionHash]);
    expect(settlement.hostError).toBeUndefined();
    expectExactSplit(settlement, session, session.cumulativeTokens);
    expect(closes).toBe(4);
    expect(retries.map(({ attempt, retryInMs }) => ({ attempt, retryInMs }))).toEqual([
      { attempt: 1, retryInMs: 500 },
      { attempt: 2, retryInMs: 1_000 },
      { attempt: 3, retryInMs: 2_000 },
    ]);
    expect(retries[2]!.error).toMatchObject({ status: 503, code: "storage_unavailable" });
  });

  it("a host silent on a close (hung, then restarted) is asked again within hostTimeoutMs and settles: one attempt waits half of what is left, or the caller's timeoutMs", async () => {
    for (const bound of [{ hostTimeoutMs: 4_000 }, { hostTimeoutMs: 60_000, timeoutMs: 1_000 }]) {
      const { session } = await openEthSession();
      await chat(session, { messages: story, maxTokens: 8 });
      await waitFor(() => t.host.receipts.get(session.jobId)?.cumulativeTokens === session.cumulativeTokens);
      let closes = 0;
      // The first close gets no answer at all: the request hangs until the SDK gives up on it.
      const silentOnce: typeof fetch = (input, init) => {
        if (!String(input).endsWith("/v1/session/close") || ++closes > 1) return globalThis.fetch(input, init);
        return new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
      };
      const retries: HostRetry[] = [];
      const settlement = await closeSession(t.userWallet, { session, fetch: silentOnce, ...bound, onHostRetry: (retry) => retries.push(retry) });
      expect(settlement).toMatchObject({ closedBy: "host", completedBy: t.hostWallet.account.address });
      expectExactSplit(settlement, session, session.cumulativeTokens);
      expect(closes).toBe(2);
      expect(retries).toHaveLength(1);
      expect((retries[0]!.error as HostUnreachableError).code).toBe("ETIMEDOUT");
    }
  }, 20_000);

  it("a progress callback that throws does not end the wait: the host back within hostTimeoutMs still settles", async () => {
    const { session } = await openEthSession();
    await chat(session, { messages: story, maxTokens: 8 });
    await waitFor(() => t.host.receipts.get(session.jobId)?.cumulativeTokens === session.cumulativeTokens);
    let closes = 0;
    const downOnce: typeof fetch = async (input, init) => {
      if (String(input).endsWith("/v1/session/close") && ++closes === 1) throw connectionRefused();
      return globalThis.fetch(input, init);
    };
    const onHostRetry = () => {
      throw new Error("the progress display broke");
    };
    const settlement = await closeSession(t.userWallet, { session, fetch: downOnce, hostTimeoutMs: 30_000, onHostRetry });
    expect(settlement).toMatchObject({ closedBy: "host", completedBy: t.hostWallet.account.address });
    expectExactSplit(settlement, session, session.cumulativeTokens);
    expect(closes).toBe(2);
  });

  it("a hostTimeoutMs past what a timer can wait (2^31 ms) is that longest wait, not an instant one", async () => {
    const { session } = await openEthSession();
    await chat(session, { messages: story, maxTokens: 8 });
    const settlement = await closeSession(t.userWallet, { session, hostTimeoutMs: 2 ** 31 });
    expect(settlement).toMatchObject({ closedBy: "host", completedBy: t.hostWallet.account.address });
    expect(settlement.hostError).toBeUndefined();
  });

  it("stops asking when the caller aborts, and settles nothing", async () => {
    const { session } = await openEthSession();
    await chat(session, { messages: story, maxTokens: 8 });
    const userNonce = await getTransactionCount(t.publicClient, { address: t.userWallet.account.address });
    const controller = new AbortController();
    const reason = new Error("the user went away");
    const down: typeof fetch = () => Promise.reject(connectionRefused());
    const error = await closeSession(t.userWallet, {
      session,
      fetch: down,
      hostTimeoutMs: 60_000,
      signal: controller.signal,
      onHostRetry: () => controller.abort(reason),
    }).catch((caught: unknown) => caught);
    expect(error).toBe(reason);
    expect(await getTransactionCount(t.publicClient, { address: t.userWallet.account.address })).toBe(userNonce);
    expect((await getSession(t.publicClient, { marketplace: t.contracts.jobMarketplace, jobId: session.jobId })).status).toBe("active");
  });
});

/** The same session held by a second tab (or a retried close from saved state): its own lock, the same key and counters. */
const secondTab = (session: Session): Session => ({ ...session, receipt: session.receipt && { ...session.receipt } });

/** The close requests the test host saw from `from` on, as `code-or-status` (`unanswered` while in flight). */
const closesFrom = (from: number) =>
  t.host.requests.slice(from).flatMap((request) => (request.path === "/v1/session/close" ? [request.code ?? request.status ?? "unanswered"] : []));

describe("a close while another close of the session is under way (a retried close, a second tab)", () => {
  /** Holds the test host's settlement until the returned function is called; a close meanwhile is refused as closing. */
  function holdSettlement(): () => void {
    let open!: () => void;
    t.host.behaviour.settleGate = new Promise<void>((resolve) => (open = resolve));
    // The SDK's floor between looks, not the host's 1 s: the test waits less.
    t.host.behaviour.closingRetryAfterSeconds = 0;
    return () => {
      open();
      t.host.behaviour.settleGate = undefined;
      t.host.behaviour.closingRetryAfterSeconds = 1;
    };
  }

  /** A session with one answer whose first close is under way, its settlement held (call `release`). */
  async function firstCloseUnderWay(options: { fetch?: typeof fetch } = {}) {
    const { session } = await openEthSession();
    const first = await chat(session, { messages: story, maxTokens: 8 });
    const from = t.host.requests.length;
    const release = holdSettlement();
    const firstClose = closeSession(t.userWallet, { session, ...options });
    await waitFor(() => closesFrom(from).join() === "unanswered");
    return { session, first, from, release, firstClose };
  }

  for (const [transport, options] of hostTransports)
    it(`${transport}: resolves with the settlement of the close under way, the host's, and sends nothing to the chain itself`, async () => {
      const { session, first, from, release, firstClose } = await firstCloseUnderWay(options);
      try {
        const userNonce = await getTransactionCount(t.publicClient, { address: t.userWallet.account.address });
        const secondClose = closeSession(t.userWallet, { session: secondTab(session), ...options });
        await waitFor(() => closesFrom(from).includes("session_not_active"));
        release();
        const [settled, awaited] = await Promise.all([firstClose, secondClose]);
        expect(awaited).toEqual(settled);
        expect(awaited).toMatchObject({ closedBy: "host", completedBy: t.hostWallet.account.address });
        expect(awaited.hostError).toBeUndefined();
        expectExactSplit(awaited, session, first.cumulativeTokens);
        expect(await getTransactionCount(t.publicClient, { address: t.userWallet.account.address })).toBe(userNonce);
      } finally {
        release();
      }
    });

  it("fails with SessionCloseInProgressError (and a hint) when the close under way does not settle in time, having sent nothing", async () => {
    const { session, first, from, release, firstClose } = await firstCloseUnderWay();
    try {
      const error = await closeSession(t.userWallet, { session: secondTab(session), hostTimeoutMs: 5_000 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SessionCloseInProgressError);
      expect(error).toMatchObject({ jobId: session.jobId, waitedMs: 5_000, hint: expect.stringContaining("closeSession again later") });
      expect((await getSession(t.publicClient, { marketplace: t.contracts.jobMarketplace, jobId: session.jobId })).status).toBe("active");
      // It asked again while it waited, and was told each time that the close was still under way.
      expect(
        closesFrom(from)
          .slice(1)
          .every((answer) => answer === "session_not_active"),
      ).toBe(true);
      release();
      expectExactSplit(await firstClose, session, first.cumulativeTokens);
    } finally {
      release();
    }
  }, 60_000);

  it("force: a host that answers every close 'closing' (Retry-After 1) forever is settled by the depositor, paying only what is proven", async () => {
    const { session } = await openSession(t.userWallet, {
      contracts: t.contracts,
      host: t.hostWallet.account.address,
      deposit: parseEther("0.001"),
      proofInterval: 100n,
      maxDuration: 30n * 24n * 3600n, // without force, the deposit would stay locked for this month
    });
    const first = await chat(session, { messages: story, maxTokens: 8 });
    await t.proveAsHost(session.jobId, t.host.receipts.get(session.jobId)!);
    // Signed for but never proven: the host holds this receipt and loses it to the forced settlement.
    const second = await chat(session, { messages: story, maxTokens: 8 });
    expect(second.cumulativeTokens).toBeGreaterThan(first.cumulativeTokens);
    let refusedAsClosing = 0;
    const closingForever: typeof fetch = async (input, init) => {
      if (!String(input).endsWith("/v1/session/close")) return globalThis.fetch(input, init);
      refusedAsClosing++;
      const body = { error: { message: "A close of the session is under way.", type: "session_error", code: "session_not_active", reason: "closing" } };
      return new Response(JSON.stringify(body), { status: 409, headers: { "content-type": "application/json", "retry-after": "1" } });
    };
    const settlement = await closeSession(t.userWallet, { session, fetch: closingForever, hostTimeoutMs: 2_000, force: true });
    expect(refusedAsClosing).toBeGreaterThan(0);
    expect(settlement).toMatchObject({ closedBy: "client", completedBy: t.userWallet.account.address });
    expect(settlement.hostError).toBeDefined();
    expectExactSplit(settlement, session, first.cumulativeTokens);
    expect((await getSession(t.publicClient, { marketplace: t.contracts.jobMarketplace, jobId: session.jobId })).status).not.toBe("active");
  }, 60_000);

  it("keeps waiting through a passing fault while it waits (the host unreachable, a 503), and still sends nothing itself", async () => {
    const { session, first, release, firstClose } = await firstCloseUnderWay();
    try {
      const userNonce = await getTransactionCount(t.publicClient, { address: t.userWallet.account.address });
      let asks = 0;
      // The second tab's asks: told "closing", then the host restarting (a 503, then no answer at all), then the truth.
      const flaky: typeof fetch = async (input, init) => {
        if (!String(input).endsWith("/v1/session/close")) return globalThis.fetch(input, init);
        asks++;
        if (asks === 2) {
          const body = { error: { message: "storage unavailable: PostgreSQL restarting; retry later", type: "server_error", code: "storage_unavailable" } };
          return new Response(JSON.stringify(body), { status: 503, headers: { "content-type": "application/json" } });
        }
        if (asks === 3) {
          release();
          throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
        }
        return globalThis.fetch(input, init);
      };
      const awaited = await closeSession(t.userWallet, { session: secondTab(session), fetch: flaky });
      expect(asks).toBeGreaterThanOrEqual(3);
      expect(awaited).toMatchObject({ closedBy: "host", completedBy: t.hostWallet.account.address });
      expectExactSplit(awaited, session, first.cumulativeTokens);
      expect(await getTransactionCount(t.publicClient, { address: t.userWallet.account.address })).toBe(userNonce);
      expect(await firstClose).toMatchObject({ transactionHash: awaited.transactionHash });
    } finally {
      release();
    }
  }, 60_000);

  it("waits for nothing when the host refuses for another reason: a session the depositor completed settles at once, an unknown one fails", async () => {
    const { session } = await openEthSession();
    const { transactionHash } = await writeAndWaitComplete(session.jobId);
    let closes = 0;
    // What the host answers once the session ended on chain: session_not_active with no reason.
    const ended: typeof fetch = async (input, init) => {
      if (!String(input).endsWith("/v1/session/close")) return globalThis.fetch(input, init);
      closes++;
      const body = { error: { message: `session ${session.jobId} is completed`, type: "invalid_request_error", code: "session_not_active" } };
      return new Response(JSON.stringify(body), { status: 409, headers: { "content-type": "application/json", "retry-after": "1" } });
    };
    const settlement = await closeSession(t.userWallet, { session, fetch: ended });
    expect(settlement).toMatchObject({ closedBy: "client", completedBy: t.userWallet.account.address, transactionHash });
    expect(closes).toBe(1);

    const from = t.host.requests.length;
    const unknown = { ...session, jobId: 10n ** 9n };
    await expect(closeSession(t.userWallet, { session: unknown })).rejects.toBeInstanceOf(ContractRevertError);
    expect(closesFrom(from)).toEqual(["session_unknown"]);
  });
});

describe("a close whose own completeSessionJob finds the session already settled", () => {
  it("reports who settled it from the chain's SessionCompleted, not 'host': a second tab of the depositor", async () => {
    const { session } = await openEthSession();
    // The host refuses to close (the SDK settles itself).
    const refusing: typeof fetch = async (input, init) => {
      if (!String(input).endsWith("/v1/session/close")) return globalThis.fetch(input, init);
      const body = { error: { message: "cannot reach the chain to settle; retry later", type: "server_error", code: "chain_unavailable" } };
      return new Response(JSON.stringify(body), { status: 503, headers: { "content-type": "application/json" } });
    };
    // The SDK looks for a settlement (none yet), then the depositor's second tab completes the session before this one's completeSessionJob is sent.
    let otherTab: Awaited<ReturnType<typeof writeAndWaitComplete>> | undefined;
    const wallet = createWalletClient({
      account: t.userWallet.account,
      chain: t.userWallet.chain,
      transport: custom({
        request: async ({ method, params }) => {
          const result: unknown = await t.userWallet.request({ method, params } as never);
          if (method === "eth_getLogs" && !otherTab) otherTab = await writeAndWaitComplete(session.jobId);
          return result;
        },
      }),
    });
    // A 503 is asked again until hostTimeoutMs: a short one, this test is about what follows.
    const settlement = await closeSession(wallet, { session, fetch: refusing, hostTimeoutMs: 1_000 });
    expect(otherTab).toBeDefined();
    // Its own completeSessionJob reverted (SessionNotActive): the settlement is the other tab's, the depositor's.
    expect(settlement).toMatchObject({ closedBy: "client", completedBy: t.userWallet.account.address, transactionHash: otherTab!.transactionHash });
    expect(settlement.hostError).toMatchObject({ code: "chain_unavailable" });
    expectExactSplit(settlement, session, 0n);
  });
});

/** The depositor completes a session directly on chain. */
async function writeAndWaitComplete(jobId: bigint) {
  const hash = await writeContract(t.userWallet, {
    address: t.contracts.jobMarketplace,
    abi: jobMarketplaceWithModelsAbi,
    functionName: "completeSessionJob",
    args: [jobId],
    account: t.userWallet.account,
    chain: t.userWallet.chain,
  });
  await waitForTransactionReceipt(t.publicClient, { hash });
  return { transactionHash: hash };
}
