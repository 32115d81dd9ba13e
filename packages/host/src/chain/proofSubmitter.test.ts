/**
 * The proof submitter's timers run on their own, with nobody awaiting them: a store or chain
 * failure inside them must be logged and tried again at the next tick, never left as an unhandled
 * rejection (which ends a Node process: one PostgreSQL restart would take every host down).
 */
import { encodeFunctionData, HttpRequestError } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterEach, describe, expect, it } from "vitest";
import { jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";
import { createCommon } from "../common.ts";
import { HostError } from "../errors.ts";
import type { Store } from "../store/storeTypes.ts";
import { CallRevertedError } from "./callReverted.ts";
import type { SessionCache } from "./chainSession.ts";
import type { Marketplace } from "./proofCalls.ts";
import { createProofSubmitter } from "./proofSubmitter.ts";
import type { TransactionSender } from "./transactionSender.ts";
import { wallChainClock } from "../testUtils/onChainSession.ts";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
afterEach(() => void process.off("unhandledRejection", onUnhandled));

const storageDown = () => Promise.reject(new HostError("storage_unavailable", "storage unavailable: PostgreSQL write EPIPE; retry later"));

describe("proof submitter timers", () => {
  function startSubmitter(
    store: Partial<Store>,
    sender: Partial<TransactionSender>,
    sessions = {} as SessionCache,
    isEcdsaReceipt = async () => false,
    marketplace = {} as Marketplace,
  ) {
    process.on("unhandledRejection", onUnhandled);
    const logs: { level: string; message: string }[] = [];
    const common = createCommon({ logLevel: "warn", logDestination: { write: (line: string) => logs.push(JSON.parse(line) as (typeof logs)[number]) } });
    const submitter = createProofSubmitter({
      common,
      store: { sessionsWithUnprovenReceipts: async () => [], settlementsDue: async () => [], ...store } as Store,
      sender: { exclusive: <T>(work: () => Promise<T>) => work(), reconcile: async () => [], ...sender } as TransactionSender,
      sessions,
      marketplace,
      policy: { delayMs: 5, maxJobs: 10, idleFlushSeconds: 60, deadlineMarginSeconds: 60, drainTimeoutMs: 1_000 },
      exposure: { unsignedLimit: () => 100 },
      tickMs: 5,
      isEcdsaReceipt,
      chainClock: wallChainClock(),
    });
    return { submitter, logs };
  }

  /** Rejections are reported after the microtask queue drains: give them a macrotask, then none may be left. */
  async function expectNoUnhandledRejection() {
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
  }

  it("logs a store failure in its periodic look and looks again at the next tick, with no unhandled rejection", async () => {
    let looks = 0;
    // The database went away after the start: every periodic look fails.
    const { submitter, logs } = startSubmitter({ pendingSubmissions: () => (looks++, storageDown()) }, {});
    await submitter.start();
    try {
      await expect.poll(() => looks, { timeout: 3_000 }).toBeGreaterThanOrEqual(3);
      await expectNoUnhandledRejection();
      expect(logs.some((line) => line.level === "warn" && /due proofs/.test(line.message))).toBe(true);
    } finally {
      await submitter.stop().catch(() => undefined);
    }
  });

  /**
   * A store's refusals, each written to `steps`, and the settlements they leave due; `fails` says which refusal's write
   * fails (PostgreSQL restarting).
   */
  function refusalMarks(steps: string[], fails: (refusal: number) => boolean = () => false): Partial<Store> {
    const due = new Set<bigint>();
    let refusals = 0;
    return {
      markRefused: async (jobId) => (steps.push("markRefused"), fails(++refusals) ? storageDown() : void due.add(jobId)),
      settlementsDue: async () => [...due],
      clearSettlementDue: async (jobId) => void due.delete(jobId),
    };
  }

  /** A store with one open session of 200 signed tokens, none proven, behind a checkpoint of 100: a proof is due. */
  const dueProofStore = (overrides: Partial<Store> = {}): Partial<Store> => ({
    pendingSubmissions: async () => [],
    openSessions: async () => [],
    session: async () => ({ closed: false, provenTokens: 0, signedTokens: 200, checkpointInterval: 100 }) as never,
    submissionsOfJob: async () => [],
    setProvenTokens: async () => undefined,
    newestReceipt: async (jobId: bigint) => ({ jobId, cumulativeTokens: 200, transcriptHash: `0x${"ab".repeat(32)}`, signature: "0x01", receivedMs: 0 }),
    ...overrides,
  });

  it("tries a due checkpoint again shortly when the store fails while preparing it, without waiting for another receipt or the idle flush", async () => {
    let reads = 0;
    const sent: bigint[][] = [];
    const { submitter, logs } = startSubmitter(
      dueProofStore({
        // PostgreSQL restarts as the checkpoint is prepared: the first read of the receipt fails.
        newestReceipt: async (jobId: bigint) =>
          ++reads === 1 ? storageDown() : { jobId, cumulativeTokens: 200, transcriptHash: `0x${"ab".repeat(32)}`, signature: "0x01", receivedMs: 0 },
      }),
      {
        send: async (_call: unknown, record: { entries: { jobId: bigint }[] }) =>
          (sent.push(record.entries.map((entry) => entry.jobId)), { submission: {}, receipt: undefined }) as never,
      },
      { get: async () => ({ status: "active", provenTokens: 0n }) } as unknown as SessionCache,
    );
    await submitter.start();
    try {
      await submitter.notify(7n);
      await submitter.flush();
      // No other receipt comes, and the idle flush is a minute away: the checkpoint is sent all the same.
      await expect.poll(() => sent, { timeout: 10_000 }).toEqual([[7n]]);
      expect(logs.some((line) => line.level === "warn" && /cannot prepare a proof now; will retry/.test(line.message))).toBe(true);
      await expectNoUnhandledRejection();
    } finally {
      await submitter.stop().catch(() => undefined);
    }
  }, 30_000);

  it("does not close a session the node does not know (a node behind its balancer's others): its receipts stay to be proven", async () => {
    const closed: bigint[] = [];
    const { submitter, logs } = startSubmitter(
      dueProofStore({ markClosed: async (jobId: bigint) => void closed.push(jobId) }),
      { send: async () => ({ submission: {}, receipt: undefined }) as never },
      { get: async () => ({ status: "none", provenTokens: 0n }) } as unknown as SessionCache,
    );
    await submitter.start();
    try {
      await submitter.notify(7n);
      await submitter.flush();
      expect(closed).toEqual([]);
      expect(logs.some((line) => line.level === "warn" && /does not show session/.test(line.message))).toBe(true);
    } finally {
      await submitter.stop().catch(() => undefined);
    }
  });

  it("says what happened when the transaction in flight cannot be waited for: the lead was lost (the node goes on), or the node is stopping", async () => {
    for (const [why, expected] of [
      ["lead lost", /^cannot wait for the proof transaction in flight: the proof lock went with the PostgreSQL lock connection/],
      ["stopping", /^cannot submit signed receipts while stopping$/],
    ] as const) {
      let started = false;
      // The start's reconcile gets the chain writer's lock; then PostgreSQL restarts and the lock connection is gone.
      const { submitter, logs } = startSubmitter(
        { pendingSubmissions: async () => [] },
        {
          exclusive: <T>(work: () => Promise<T>) => (started ? storageDown() : work()),
        },
      );
      await submitter.start();
      started = true;
      await submitter.stop(0, why).catch(() => undefined);
      expect(
        logs.filter((line) => line.level === "warn").map((line) => line.message),
        why,
      ).toEqual([expect.stringMatching(expected)]);
    }
  });

  it("logs a due proof whose submission cannot start (the chain writer's lock is unreachable) and tries it again, with no unhandled rejection", async () => {
    let attempts = 0;
    let started = false;
    const { submitter, logs } = startSubmitter(
      {
        pendingSubmissions: async () => [],
        openSessions: async () => [],
        session: async () => ({ closed: false, provenTokens: 0, signedTokens: 200, checkpointInterval: 100 }) as never,
        submissionsOfJob: async () => [],
      },
      // The start's reconcile gets the lock; from then on the database is gone.
      { exclusive: <T>(work: () => Promise<T>) => (started ? (attempts++, storageDown()) : work()) },
    );
    await submitter.start();
    started = true;
    try {
      await submitter.notify(7n);
      await expect.poll(() => attempts, { timeout: 3_000 }).toBeGreaterThanOrEqual(2);
      await expectNoUnhandledRejection();
      expect(logs.some((line) => line.level === "warn" && /will retry/.test(line.message))).toBe(true);
    } finally {
      await submitter.stop().catch(() => undefined);
    }
  });

  /**
   * A chain that refuses session 7's receipt (`InvalidProof`, in simulation and when sent) and takes
   * its `completeSessionJob` unless `settlementFails` says otherwise for that attempt; each call
   * sent, and each close of the session in the store, is written to `steps`.
   */
  function refusingChain(steps: string[], settlementFails: (attempt: number) => boolean = () => false) {
    const invalidProof = (functionName: string) => new CallRevertedError(functionName, "InvalidProof", "InvalidProof(7, 0x00)", { cause: undefined });
    let settlements = 0;
    const sender: Partial<TransactionSender> = {
      simulate: async (call) => Promise.reject(invalidProof(call.functionName)),
      send: async (call) => {
        steps.push(call.functionName);
        if (call.functionName !== "completeSessionJob") throw invalidProof(call.functionName);
        if (settlementFails(++settlements)) throw new Error("fetch failed");
        return { submission: { txHash: "0xab" }, receipt: { status: "success" } } as never;
      },
    };
    const sessions = { get: async () => ({ status: "active", provenTokens: 100n }), update: () => undefined } as unknown as SessionCache;
    return { sender, sessions };
  }

  it("closes a session whose receipt the chain refuses before settling it, sends that receipt no more, and retries a failed settlement at the next tick", async () => {
    const steps: string[] = [];
    let ticks = 0;
    // The RPC is down at the first settlement: it must be tried again.
    const { sender, sessions } = refusingChain(steps, (attempt) => attempt === 1);
    const { submitter, logs } = startSubmitter(dueProofStore({ pendingSubmissions: async () => (ticks++, []), ...refusalMarks(steps) }), sender, sessions);
    await submitter.start();
    try {
      await submitter.notify(7n);
      await submitter.flush();
      await expect.poll(() => steps.filter((step) => step === "completeSessionJob").length, { timeout: 10_000 }).toBe(2);
      const settledAt = ticks;
      await expect.poll(() => ticks, { timeout: 10_000 }).toBeGreaterThan(settledAt + 3);
      // Closed (every process refuses it) before anything was sent to settle it; the refused proof never again, the settlement once more only.
      expect(steps).toEqual(["submitProofOfWork", "markRefused", "completeSessionJob", "completeSessionJob"]);
      expect(logs.some((line) => line.level === "error" && /chain refuses a stored receipt/.test(line.message))).toBe(true);
      expect(logs.some((line) => line.level === "warn" && /cannot settle a session whose receipt the chain refuses; will retry/.test(line.message))).toBe(true);
      await expectNoUnhandledRejection();
    } finally {
      await submitter.stop().catch(() => undefined);
    }
  }, 30_000);

  it("keeps a session whose signer has no code when the chain refuses its proof (the host checked its ECDSA receipt as the contract does), and does not send that receipt again", async () => {
    const steps: string[] = [];
    const { sender, sessions } = refusingChain(steps);
    const { submitter, logs } = startSubmitter(dueProofStore(refusalMarks(steps)), sender, sessions, async () => true);
    await submitter.start();
    try {
      await submitter.notify(7n);
      await submitter.flush();
      await expect
        .poll(() => logs.some((line) => line.level === "error" && /chain refuses a stored receipt's proof now/.test(line.message)), { timeout: 10_000 })
        .toBe(true);
      await submitter.flushAll();
      expect(steps).toEqual(["submitProofOfWork"]);
      await expectNoUnhandledRejection();
    } finally {
      await submitter.stop().catch(() => undefined);
    }
  }, 30_000);

  it("builds a refused proof again, closing nothing, when the chain's proven count moved since it was built (a proof mined meanwhile, a node behind)", async () => {
    const steps: string[] = [];
    const { sender } = refusingChain(steps);
    let reads = 0;
    // Read at 100 proven when the proof is built, at 150 once it is refused; then 150 for good.
    const sessions = { get: async () => ({ status: "active", provenTokens: ++reads === 1 ? 100n : 150n }), update: () => undefined } as unknown as SessionCache;
    const built: number[] = [];
    const { submitter } = startSubmitter(
      dueProofStore({ ...refusalMarks(steps), setProvenTokens: async (_jobId, proven) => void built.push(proven) }),
      sender,
      sessions,
    );
    await submitter.start();
    try {
      await submitter.notify(7n);
      await submitter.flush();
      // Built again on 150; refused again, now with nothing moved: a contract signer's session is then closed.
      await expect.poll(() => steps, { timeout: 10_000 }).toEqual(["submitProofOfWork", "submitProofOfWork", "markRefused", "completeSessionJob"]);
      expect(built.slice(0, 2)).toEqual([100, 150]);
      await expectNoUnhandledRejection();
    } finally {
      await submitter.stop().catch(() => undefined);
    }
  }, 30_000);

  it("proves a refused receipt's session again when the store cannot close it now, and closes it then", async () => {
    const steps: string[] = [];
    const { sender, sessions } = refusingChain(steps);
    // PostgreSQL restarts as the session is closed: the first mark fails.
    const { submitter } = startSubmitter(dueProofStore(refusalMarks(steps, (refusal) => refusal === 1)), sender, sessions);
    await submitter.start();
    try {
      await submitter.notify(7n);
      await submitter.flush();
      await expect
        .poll(() => steps, { timeout: 10_000 })
        .toEqual(["submitProofOfWork", "markRefused", "submitProofOfWork", "markRefused", "completeSessionJob"]);
      await expectNoUnhandledRejection();
    } finally {
      await submitter.stop().catch(() => undefined);
    }
  }, 30_000);

  for (const when of ["at start", "at a tick"] as const)
    it(`handles each proof outcome reconcile learns on its own (${when}): one whose judgement fails (its session cannot be read) is proven again, the others are handled, and the start goes on`, async () => {
      const account = privateKeyToAccount(`0x${"11".repeat(32)}`);
      const marketplace = { address: account.address, abi: jobMarketplaceWithModelsAbi } as Marketplace;
      const data = encodeFunctionData({ abi: marketplace.abi, functionName: "submitProofOfWork", args: [1n, `0x${"ab".repeat(97)}`, 100n] });
      const rawTx = await account.signTransaction({ chainId: 1, type: "eip1559", to: marketplace.address, data, gas: 1n, maxFeePerGas: 1n, nonce: 0 });
      // Job 1's proof found mined reverted (to be judged, which reads the session), then job 2's found dropped (to be proven again).
      const outcomes = [
        {
          submission: {
            id: 1,
            kind: "checkpoint",
            status: "reverted",
            txHash: "0x01",
            rawTx,
            entries: [{ jobId: 1n, cumulativeTokens: 100, tokensInBatch: 100 }],
          },
          receipt: { status: "reverted", logs: [] },
        },
        {
          submission: {
            id: 2,
            kind: "checkpoint",
            status: "dropped",
            txHash: "0x02",
            rawTx,
            entries: [{ jobId: 2n, cumulativeTokens: 50, tokensInBatch: 50 }],
          },
          receipt: undefined,
        },
      ];
      let reconciles = 0;
      const proving: bigint[] = [];
      const { submitter, logs } = startSubmitter(
        dueProofStore({ pendingSubmissions: async () => [{}] as never, submissionsOfJob: async (jobId: bigint) => (proving.push(jobId), []) }),
        {
          reconcile: async () => (reconciles++ === (when === "at start" ? 0 : 1) ? outcomes : []) as never,
          send: () => Promise.reject(new Error("fetch failed")),
        },
        // The RPC is down after its retries: the reverted proof's session cannot be read.
        { get: () => Promise.reject(new HttpRequestError({ url: "http://127.0.0.1:8545", status: 502 })) } as unknown as SessionCache,
        async () => false,
        marketplace,
      );
      await submitter.start();
      try {
        await expect.poll(() => [...new Set(proving)].sort(), { timeout: 10_000 }).toEqual([1n, 2n]);
        expect(logs.some((line) => line.level === "warn" && /cannot judge a mined proof now/.test(line.message))).toBe(true);
        await expectNoUnhandledRejection();
      } finally {
        await submitter.stop().catch(() => undefined);
      }
    }, 30_000);
});
