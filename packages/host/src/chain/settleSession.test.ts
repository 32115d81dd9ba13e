/**
 * A close asks the chain before it settles (the session's fresh state, a pending proof's fate): when
 * the RPC cannot be reached then, the close is refused as retryable (503 chain_unavailable), as a
 * failed send is, never as a 500 the client cannot tell from a bug.
 */
import { ContractFunctionExecutionError, HttpRequestError, RpcRequestError } from "viem";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createCommon } from "../common.ts";
import type { Store } from "../store/storeTypes.ts";
import { asCallReverted, CallRevertedError } from "./callReverted.ts";
import { createChainClock, type ChainClock } from "./chainClock.ts";
import type { OnChainSession, SessionCache } from "./chainSession.ts";
import type { Marketplace } from "./proofCalls.ts";
import { retireAbandonedSession, settleRefused, settleSession, type SettlementContext } from "./settleSession.ts";
import type { TransactionSender } from "./transactionSender.ts";
import { wallChainClock } from "../testUtils/onChainSession.ts";

/** What viem throws for a contract read whose RPC endpoint does not answer. */
const rpcDown = () =>
  new ContractFunctionExecutionError(new HttpRequestError({ url: "http://127.0.0.1:8545", details: "fetch failed" }), {
    abi: [],
    functionName: "getSession",
  });

function context(overrides: {
  store?: Partial<Store>;
  sessions?: Partial<SessionCache>;
  sender?: Partial<TransactionSender>;
  isEcdsaReceipt?: SettlementContext["isEcdsaReceipt"];
  reconcile?: SettlementContext["reconcile"];
  chainClock?: ChainClock;
}): SettlementContext {
  return {
    common: createCommon({ logLevel: "silent" }),
    store: { submissionsOfJob: async () => [], ...overrides.store } as Store,
    sessions: { ...overrides.sessions } as SessionCache,
    sender: { ...overrides.sender } as TransactionSender,
    marketplace: {} as Marketplace,
    chainClock: overrides.chainClock ?? wallChainClock(),
    isEcdsaReceipt: overrides.isEcdsaReceipt ?? (async () => false),
    reconcile: overrides.reconcile ?? (async () => undefined),
  };
}

describe("settleSession with the RPC unreachable", () => {
  it("refuses retryably when the session's fresh read fails", async () => {
    const settling = settleSession(context({ sessions: { get: () => Promise.reject(rpcDown()) } }), 7n);
    await expect(settling).rejects.toMatchObject({ code: "chain_unavailable", status: 503 });
  });

  it("refuses retryably when a pending proof's fate cannot be read", async () => {
    const pending = [{ kind: "checkpoint", status: "sent", entries: [{ jobId: 7n, cumulativeTokens: 10 }] }];
    const settling = settleSession(context({ store: { submissionsOfJob: async () => pending as never }, reconcile: () => Promise.reject(rpcDown()) }), 7n);
    await expect(settling).rejects.toMatchObject({ code: "chain_unavailable", status: 503 });
  });

  it("refuses retryably when the node answers the read with an error (a lagging node behind a balancer: header not found)", async () => {
    const lagging = new ContractFunctionExecutionError(
      new RpcRequestError({ body: {}, url: "http://127.0.0.1:8545", error: { code: -32000, message: "header not found" } }),
      {
        abi: [],
        functionName: "getSession",
      },
    );
    await expect(settleSession(context({ sessions: { get: () => Promise.reject(lagging) } }), 7n)).rejects.toMatchObject({ code: "chain_unavailable" });
  });

  it("refuses retryably, and marks nothing closed, when the node does not know the session (a node behind: its creation not seen yet)", async () => {
    const closed: bigint[] = [];
    const settling = settleSession(
      context({
        store: { markClosed: async (jobId: bigint) => void closed.push(jobId) },
        sessions: { get: async () => ({ status: "none", provenTokens: 0n }) as never },
      }),
      7n,
    );
    await expect(settling).rejects.toMatchObject({ code: "chain_unavailable", status: 503 });
    expect(closed).toEqual([]);
  });

  it("leaves an error that is not the RPC's as it is (a 500, logged)", async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'status')");
    await expect(settleSession(context({ sessions: { get: () => Promise.reject(bug) } }), 7n)).rejects.toBe(bug);
  });
});

describe("settleSession when its settlement is mined but reverted", () => {
  const hash = `0x${"ab".repeat(32)}` as const;
  /** A store's closes (`closed`, whether for a refused receipt or not) and the settlements they leave due (`due`). */
  const refusalMarks = (closed: bigint[], due: Set<bigint>): Partial<Store> => ({
    markClosed: async (jobId) => void closed.push(jobId),
    markRefused: async (jobId) => void (closed.push(jobId), due.add(jobId)),
    clearSettlementDue: async (jobId) => void due.delete(jobId),
  });
  /** A session read active before the send, then as `after` (or a failed read) once the settlement reverted. */
  function reverted(after: () => Promise<{ status: string }>) {
    let reads = 0;
    const closed: bigint[] = [];
    const settling = settleSession(
      context({
        store: { setProvenTokens: async () => undefined, newestReceipt: async () => undefined, markClosed: async (jobId: bigint) => void closed.push(jobId) },
        sessions: { get: async () => (reads++ === 0 ? ({ status: "active", provenTokens: 0n } as never) : ((await after()) as never)) },
        sender: { send: async () => ({ submission: { txHash: hash }, receipt: { status: "reverted" } }) as never },
      }),
      7n,
    );
    return { settling, closed };
  }

  it("is a 500 when the session is still active on chain (a proof the contract refused: a bug), and marks nothing closed", async () => {
    const { settling, closed } = reverted(async () => ({ status: "active" }));
    await expect(settling).rejects.toMatchObject({ code: "internal_error", status: 500 });
    expect(closed).toEqual([]);
  });

  it("closes the session and completes it without its final receipt when the proof of that receipt reverted with the session still active (the chain refuses it)", async () => {
    const calls: string[] = [];
    const closed: bigint[] = [];
    const due = new Set<bigint>();
    const settled = await settleSession(
      context({
        store: {
          setProvenTokens: async () => undefined,
          newestReceipt: async (jobId: bigint) => ({ jobId, cumulativeTokens: 200, transcriptHash: hash, signature: "0x1234", receivedMs: 0 }),
          ...refusalMarks(closed, due),
        },
        sessions: { get: async () => ({ status: "active", provenTokens: 100n }) as never, update: () => undefined },
        sender: {
          send: async (call) => {
            calls.push(call.functionName);
            return { submission: { txHash: hash }, receipt: { status: call.functionName === "completeSessionJob" ? "success" : "reverted" } } as never;
          },
        },
      }),
      7n,
    );
    expect(calls).toEqual(["submitProofAndComplete", "completeSessionJob"]);
    expect(closed).toEqual([7n]);
    expect(settled).toMatchObject({ provenTokens: "100", mined: true });
    // Marked due a settlement with its close, cleared once that settlement was mined.
    expect(due).toEqual(new Set());
  });

  /**
   * A close whose final receipt (200 tokens, built on 100 proven) the chain refuses, mined reverted or
   * in simulation (`InvalidProof`); the session reads active with `provenAfter` once refused, a proof
   * of it may still be on its way (`pending`), and its signer holds code when `contract`.
   */
  function refusedFinalReceipt(options: { mined: boolean; contract: boolean; provenAfter?: bigint; pending?: boolean }) {
    const calls: string[] = [];
    const closed: bigint[] = [];
    const due = new Set<bigint>();
    let reads = 0;
    const pendingProof = { status: "sent", entries: [{ jobId: 7n, cumulativeTokens: 150, tokensInBatch: 50 }] };
    const settling = settleSession(
      context({
        store: {
          setProvenTokens: async () => undefined,
          submissionsOfJob: async () => (options.pending && reads > 0 ? [pendingProof] : []) as never,
          newestReceipt: async (jobId: bigint) => ({ jobId, cumulativeTokens: 200, transcriptHash: hash, signature: "0x1234", receivedMs: 0 }),
          ...refusalMarks(closed, due),
        },
        sessions: {
          get: async () => ({ status: "active", provenTokens: reads++ === 0 ? 100n : (options.provenAfter ?? 100n), signer: "0x01" }) as never,
          update: () => undefined,
        },
        sender: {
          send: async (call) => {
            calls.push(call.functionName);
            if (call.functionName === "completeSessionJob") return { submission: { txHash: hash }, receipt: { status: "success" } } as never;
            if (!options.mined) throw new CallRevertedError(call.functionName, "InvalidProof", "InvalidProof(7, 0x01)", { cause: undefined });
            return { submission: { txHash: hash }, receipt: { status: "reverted" } } as never;
          },
        },
        isEcdsaReceipt: async () => !options.contract,
      }),
      7n,
    );
    return { settling, calls, closed, due };
  }

  for (const mined of [true, false])
    describe(mined ? "mined reverted" : "refused in simulation", () => {
      it("keeps the session and refuses the close as before when its signer has no code (the host checked its ECDSA receipt as the contract does)", async () => {
        const { settling, calls, closed } = refusedFinalReceipt({ mined, contract: false });
        await expect(settling).rejects.toMatchObject(mined ? { code: "internal_error" } : { code: "session_not_active", status: 409 });
        expect(calls).toEqual(["submitProofAndComplete"]);
        expect(closed).toEqual([]);
      });

      it("keeps a contract signer's session and refuses the close retryably when the chain's proven count moved (a proof mined meanwhile, a node behind)", async () => {
        const { settling, calls, closed } = refusedFinalReceipt({ mined, contract: true, provenAfter: 150n });
        await expect(settling).rejects.toMatchObject({ code: "chain_unavailable", status: 503 });
        expect(calls).toEqual(["submitProofAndComplete"]);
        expect(closed).toEqual([]);
      });

      it("keeps a contract signer's session and refuses the close retryably while a proof of it is still on its way", async () => {
        const { settling, calls, closed } = refusedFinalReceipt({ mined, contract: true, pending: true });
        await expect(settling).rejects.toMatchObject({ code: "chain_unavailable", status: 503 });
        expect(calls).toEqual(["submitProofAndComplete"]);
        expect(closed).toEqual([]);
      });

      it("closes a contract signer's session and completes it for what is proven when nothing moved", async () => {
        const { settling, calls, closed, due } = refusedFinalReceipt({ mined, contract: true });
        await expect(settling).resolves.toMatchObject({ provenTokens: "100" });
        expect(calls).toEqual(["submitProofAndComplete", "completeSessionJob"]);
        expect(closed).toEqual([7n]);
        expect(due).toEqual(new Set());
      });
    });

  it("is 409 session_not_active when someone else ended the session first, which is then closed here", async () => {
    const { settling, closed } = reverted(async () => ({ status: "timedOut" }));
    await expect(settling).rejects.toMatchObject({ code: "session_not_active", status: 409, message: expect.stringContaining("was timedOut on chain") });
    expect(closed).toEqual([7n]);
  });

  it("is 503 chain_unavailable, and marks nothing closed, when the node does not know the session (a node behind its balancer's others)", async () => {
    const { settling, closed } = reverted(async () => ({ status: "none" }));
    await expect(settling).rejects.toMatchObject({ code: "chain_unavailable", status: 503 });
    expect(closed).toEqual([]);
  });

  it("is 503 chain_unavailable when the chain cannot be read to tell why", async () => {
    const { settling, closed } = reverted(() => Promise.reject(rpcDown()));
    await expect(settling).rejects.toMatchObject({ code: "chain_unavailable", status: 503 });
    expect(closed).toEqual([]);
  });
});

describe("settleRefused keeps a session due a settlement until the chain shows it ended", () => {
  /** A node's answer to the settlement's simulation that is no revert (a lagging node behind a balancer, an RPC key refused). */
  const nodeErrors = {
    "header not found": new ContractFunctionExecutionError(
      new RpcRequestError({ body: {}, url: "http://127.0.0.1:8545", error: { code: -32000, message: "header not found" } }),
      { abi: [], functionName: "completeSessionJob" },
    ),
    "HTTP 401": new ContractFunctionExecutionError(new HttpRequestError({ url: "http://127.0.0.1:8545", status: 401 }), {
      abi: [],
      functionName: "completeSessionJob",
    }),
  };
  /** A refused session 7, active on chain, its settlement failing with `failure` as the sender throws it. */
  function settling(failure: unknown) {
    const due = new Set([7n]);
    const settled = settleRefused(
      context({
        store: { setProvenTokens: async () => undefined, markClosed: async () => undefined, clearSettlementDue: async (jobId) => void due.delete(jobId) },
        sessions: { get: async () => ({ status: "active", provenTokens: 100n }) as never },
        sender: {
          send: async (call) => {
            throw failure instanceof CallRevertedError ? failure : asCallReverted(call.functionName, failure);
          },
        },
      }),
      7n,
    );
    return { settled, due };
  }

  for (const [name, error] of Object.entries(nodeErrors))
    it(`keeps the mark and refuses retryably when the simulation fails with a node's error, not a revert (${name})`, async () => {
      const { settled, due } = settling(error);
      await expect(settled).rejects.toMatchObject({ code: "chain_unavailable", status: 503 });
      expect(due).toEqual(new Set([7n]));
    });

  it("keeps the mark when the contract refuses the settlement for another reason than an ended session", async () => {
    const { settled, due } = settling(new CallRevertedError("completeSessionJob", "NotAuthorized", "NotAuthorized(7, 0x01)", { cause: undefined }));
    await expect(settled).rejects.toMatchObject({ code: "session_not_active" });
    expect(due).toEqual(new Set([7n]));
  });

  it("clears the mark when the contract says the session is no longer active", async () => {
    const { settled, due } = settling(new CallRevertedError("completeSessionJob", "SessionNotActive", "SessionNotActive(7, 1)", { cause: undefined }));
    await expect(settled).rejects.toMatchObject({ code: "session_not_active" });
    expect(due).toEqual(new Set());
  });

  it("clears the mark when a fresh read shows the session ended", async () => {
    const due = new Set([7n]);
    const settled = settleRefused(
      context({
        store: { markClosed: async () => undefined, clearSettlementDue: async (jobId) => void due.delete(jobId) },
        sessions: { get: async () => ({ status: "completed", provenTokens: 100n }) as never },
      }),
      7n,
    );
    await expect(settled).rejects.toMatchObject({ code: "session_not_active" });
    expect(due).toEqual(new Set());
  });
});

describe("retireAbandonedSession judges the abandonment timeout on the chain's clock, not the host's", () => {
  const timeoutSeconds = 3600;
  const chainNow = 1_800_000_000n;
  const lastActivity = chainNow - BigInt(timeoutSeconds);
  afterEach(() => void vi.useRealTimers());

  /** The calls a silent session with proven work, last active at `lastActivity`, sends when retired at chain time `chainSeconds`. */
  async function callsRetiring(chainSeconds: bigint): Promise<string[]> {
    const calls: string[] = [];
    const session = { status: "active", provenTokens: 100n, lastActivity } as OnChainSession;
    await retireAbandonedSession(
      context({
        store: { newestReceipt: async () => undefined },
        sessions: { get: async () => session, update: () => undefined },
        sender: {
          send: async (call) => {
            calls.push(call.functionName);
            return { submission: { txHash: "0x01" }, receipt: { status: "success" } } as never;
          },
        },
        chainClock: createChainClock({ number: 1n, timestamp: chainSeconds }),
      }),
      1n,
      timeoutSeconds,
    );
    return calls;
  }

  it("claims nothing while the chain's clock is short of the timeout, the host's clock a day past it", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Number(chainNow + 86_400n) * 1000 });
    expect(await callsRetiring(chainNow - 60n)).toEqual([]);
  });

  it("claims the session once the chain's clock reaches the timeout, the host's clock a day short of it", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Number(chainNow - 86_400n) * 1000 });
    expect(await callsRetiring(chainNow)).toEqual(["claimAbandonedSession"]);
  });
});
