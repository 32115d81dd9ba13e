import { parseEventLogs, type TransactionReceipt } from "viem";
import { decodeCheckpointProof } from "@session-jobs/protocol";
import type { Common } from "../common.ts";
import type { BatchPolicy } from "../config/config.ts";
import { HostError } from "../errors.ts";
import type { ExposurePolicy } from "../session/exposure.ts";
import type { Release, Store, Submission } from "../store/storeTypes.ts";
import { CallRevertedError } from "./callReverted.ts";
import type { ChainClock } from "./chainClock.ts";
import { endedOnChain, type SessionCache } from "./chainSession.ts";
import { proofCall, proofEntriesOf, receiptProof, type Marketplace, type ProofEntry } from "./proofCalls.ts";
import { pendingCoverage } from "./proofCoverage.ts";
import { judgeRefusal, type RefusalContext } from "./refusalVerdict.ts";
import { isRetryableError } from "./retry.ts";
import { refuseSession, refusesReceipt, retireAbandonedSession, settleRefused, settleSession, showsSessionEnded, type SettleResult } from "./settleSession.ts";
import type { TransactionSender } from "./transactionSender.ts";

export type ProofSubmitter = ReturnType<typeof createProofSubmitter>;

/** What a failure to finish the submitter's work on stopping means, by why it stopped. */
const stopFailure = {
  stopping: "cannot submit signed receipts while stopping",
  "lead lost":
    "cannot wait for the proof transaction in flight: the proof lock went with the PostgreSQL lock connection; the process that submits proofs next reconciles it",
} as const;

/** What a stopping submitter leaves unproven: signed tokens of open sessions not yet proven on chain. */
export type UnprovenReport = {
  /** The wait for the proofs ran out before they were all confirmed. */
  timedOut: boolean;
  /** This process was sending the proofs when stopped (with PostgreSQL, one process leads them at a time). */
  leading: boolean;
  sessions: number;
  tokens: number;
};

/**
 * Turns stored receipts into on-chain proofs: a session is due once its signed-but-unproven tokens
 * reach one checkpoint interval; due sessions wait `delayMs` for company and go out together
 * through `submitProofsBatch`. Idle sessions and sessions near their deadline are flushed too, and
 * on start everything signed but unproven is submitted. `settle` proves the final receipt and
 * completes the session in one call. Every chain write goes through the one transaction sender.
 */
export function createProofSubmitter(parameters: {
  common: Common;
  store: Store;
  sender: TransactionSender;
  sessions: SessionCache;
  marketplace: Marketplace;
  policy: BatchPolicy;
  /** Signed-but-unproven tokens past which a session's proof is due: its interval, capped by the host's limit. */
  exposure: Pick<ExposurePolicy, "unsignedLimit">;
  /** Whether a receipt is an ECDSA one the contract takes inline: a refused proof ends its session only when it is not ({@link judgeRefusal}). */
  isEcdsaReceipt: RefusalContext["isEcdsaReceipt"];
  /** How often idle sessions, deadlines and pending transactions are looked at (ms). */
  tickMs?: number;
  /**
   * The marketplace's ABANDONMENT_TIMEOUT in seconds. A session whose client has been silent this
   * long is ended by the host so that its proven work gets paid: `claimAbandonedSession` once the
   * chain allows it, or `submitProofAndComplete` when signed tokens are still unproven.
   */
  abandonmentTimeoutSeconds?: number;
  /** The host's clock in milliseconds (idle and silent sessions). Default `Date.now`. */
  now?: () => number;
  /** The chain's clock: what a session's deadline and an abandonment claim are judged by, as the contract does. */
  chainClock: Pick<ChainClock, "nowSeconds">;
}) {
  const { common, store, sender, sessions, marketplace, policy, chainClock } = parameters;
  const now = parameters.now ?? Date.now;
  const settlement = { common, store, sender, sessions, marketplace, chainClock, isEcdsaReceipt: parameters.isEcdsaReceipt, reconcile };
  const due = new Set<bigint>();
  /** Receipts the chain refused (by job: cumulative count); not tried again until a newer one comes. */
  const refused = new Map<bigint, number>();
  /** When each silent session was last looked at; they are re-read at most every `silentRecheckMs`. */
  const silentChecked = new Map<bigint, number>();
  const silentRecheckMs = 10 * 60_000;
  /** How soon a proof whose preparation hit an RPC failure is tried again. */
  const prepareRetryMs = 1_000;
  let flushTimer: NodeJS.Timeout | undefined;
  let tickTimer: NodeJS.Timeout | undefined;
  let running = false;

  /** Reads the session fresh and builds its proof entry, or explains why there is none. */
  async function proofEntry(jobId: bigint): Promise<ProofEntry | undefined> {
    if ((await pendingCoverage(store, jobId)) !== undefined) return undefined;
    const session = await sessions.get(jobId, { fresh: true });
    const provenTokens = Number(session.provenTokens);
    await store.setProvenTokens(jobId, provenTokens);
    const receipt = await store.newestReceipt(jobId);
    if (session.status === "none") {
      // A node behind: the session stays open here, its receipts proven at the next receipt or round.
      common.logger.warn("the chain read does not show session; not proven now", { jobId });
      return undefined;
    }
    if (endedOnChain(session)) {
      await store.markClosed(jobId);
      if (receipt && receipt.cumulativeTokens > provenTokens)
        common.logger.warn("session ended before its receipts were proven", {
          jobId,
          status: session.status,
          unprovenTokens: receipt.cumulativeTokens - provenTokens,
        });
      return undefined;
    }
    if (!receipt || receipt.cumulativeTokens <= provenTokens || refused.get(jobId) === receipt.cumulativeTokens) return undefined;
    return {
      jobId,
      cumulativeTokens: receipt.cumulativeTokens,
      tokensInBatch: receipt.cumulativeTokens - provenTokens,
      proof: receiptProof(receipt),
    };
  }

  /**
   * The chain refused this entry's proof as invalid; {@link judgeRefusal} says whose fault. The
   * receipt's own (not an ECDSA receipt the contract takes inline: it rested on ERC-1271): the
   * session is served nothing more by any process, its proofs are never sent again, and it is due a
   * settlement for what is proven ({@link settleDue}; the mark is in the store). A proven count that moved: built again and
   * retried shortly. Otherwise (the signer's ECDSA receipt, checked again offline): logged, and not
   * tried again until a newer receipt comes or the session is settled.
   */
  async function judgeRefused(entry: ProofEntry, reason: string): Promise<void> {
    const verdict = await judgeRefusal(settlement, entry.jobId, entry.cumulativeTokens - entry.tokensInBatch, {
      cumulativeTokens: entry.cumulativeTokens,
      ...decodeCheckpointProof(entry.proof),
    });
    if (verdict === "stale") {
      common.logger.warn("a proof was built on a proven count the chain no longer holds; will build it again", { jobId: entry.jobId, reason });
      setTimeout(() => schedule(entry.jobId), prepareRetryMs).unref();
      return;
    }
    if (verdict === "notTheReceipt") {
      refused.set(entry.jobId, entry.cumulativeTokens);
      common.logger.error("chain refuses a stored receipt's proof now", { jobId: entry.jobId, cumulativeTokens: entry.cumulativeTokens, reason });
      return;
    }
    // Closed and marked first: a store that cannot take the mark now leaves the session due again, to be judged anew.
    await refuseSession(settlement, entry.jobId, entry.cumulativeTokens, reason);
    refused.set(entry.jobId, entry.cumulativeTokens);
  }

  /**
   * Settles every session closed for a refused receipt and not settled yet, whichever process closed
   * it (the mark is in the store): `completeSessionJob`, paid what is proven, tried again at each
   * tick until it is mined or the session ends otherwise ({@link settleRefused}). A session with a
   * transaction still on its way (a settlement sent by a process that stopped) waits for reconcile
   * to learn its fate: a second settlement could only revert. Inside the queue.
   */
  async function settleDue(): Promise<void> {
    for (const jobId of await store.settlementsDue())
      try {
        if ((await pendingCoverage(store, jobId)) !== undefined) continue;
        const settled = await settleRefused(settlement, jobId);
        common.logger.info("settled a session whose receipt the chain refuses", { jobId, hash: settled.transactionHash, provenTokens: settled.provenTokens });
      } catch (error) {
        // Ended meanwhile (by its depositor, a timeout or a settlement): nothing left to settle.
        if (!showsSessionEnded(error)) common.logger.warn("cannot settle a session whose receipt the chain refuses; will retry", { jobId, error });
      }
  }

  /** Drops entries the chain would refuse on their own, so that one bad receipt cannot sink a batch. */
  async function withoutRefused(entries: ProofEntry[]): Promise<ProofEntry[]> {
    const kept: ProofEntry[] = [];
    for (const entry of entries) {
      try {
        await sender.simulate(proofCall(marketplace, [entry]));
        kept.push(entry);
      } catch (error) {
        if (!(error instanceof CallRevertedError)) throw error;
        if (refusesReceipt(error)) await judgeRefused(entry, error.reason);
        else {
          refused.set(entry.jobId, entry.cumulativeTokens);
          common.logger.error("chain refuses a stored receipt's proof now", {
            jobId: entry.jobId,
            cumulativeTokens: entry.cumulativeTokens,
            reason: error.reason,
          });
        }
      }
    }
    return kept;
  }

  /** Sessions whose receipt a mined batch skipped as invalid (`ProofRejected`: it simulated, but the transaction refused it). */
  const rejectedIn = (receipt: TransactionReceipt): Set<bigint> =>
    new Set(parseEventLogs({ abi: marketplace.abi, logs: receipt.logs, eventName: "ProofRejected" }).map((log) => (log.args as { jobId: bigint }).jobId));

  /**
   * What a mined proof transaction says about its receipts: a receipt the transaction refused (a batch's
   * `ProofRejected`, or one proof reverted with its session still active) ends its session as refused,
   * even though it simulated (a contract signer may answer a call and a transaction differently).
   */
  async function judgeMined(batch: ProofEntry[], receipt: TransactionReceipt): Promise<ProofEntry[]> {
    if (receipt.status !== "success") {
      const [only] = batch;
      if (batch.length === 1 && only && (await sessions.get(only.jobId, { fresh: true })).status === "active")
        await judgeRefused(only, "proof transaction reverted");
      return [];
    }
    const rejected = rejectedIn(receipt);
    for (const entry of batch) if (rejected.has(entry.jobId)) await judgeRefused(entry, "ProofRejected");
    return batch.filter((entry) => !rejected.has(entry.jobId));
  }

  /** What a mined proof transaction says, whether its wait saw it mined or reconcile found it later. Inside the queue. */
  async function minedProofs(batch: ProofEntry[], submission: Submission, receipt: TransactionReceipt): Promise<void> {
    if (receipt.status !== "success" && batch.length > 1) {
      // A whole batch reverted (out of gas: a contract signer may burn its ERC-1271 gas cap in transactions
      // only) says nothing about which receipt: each goes again alone, where a reverted proof is judged.
      common.logger.warn("proof batch reverted; sending its proofs one at a time", { hash: submission.txHash, jobs: batch.map((entry) => entry.jobId) });
      await submitEach(batch);
      return;
    }
    const proven = await judgeMined(batch, receipt);
    for (const entry of proven) sessions.update(entry.jobId, { provenTokens: BigInt(entry.cumulativeTokens) });
    common.metrics.tokensProven.inc(proven.reduce((sum, entry) => sum + entry.tokensInBatch, 0));
    if (receipt.status === "success")
      common.logger.info("proofs confirmed", { hash: submission.txHash, jobs: proven.map((entry) => entry.jobId), gasUsed: receipt.gasUsed });
  }

  async function submitEntries(entries: ProofEntry[]): Promise<void> {
    let batch = entries;
    for (let attempt = 0; batch.length > 0; attempt++) {
      try {
        const { submission, receipt } = await sender.send(proofCall(marketplace, batch), {
          kind: batch.length === 1 ? "checkpoint" : "batch",
          entries: batch.map(({ jobId, cumulativeTokens, tokensInBatch }) => ({ jobId, cumulativeTokens, tokensInBatch })),
        });
        if (receipt) await minedProofs(batch, submission, receipt);
        return;
      } catch (error) {
        if (!(error instanceof CallRevertedError) || attempt > 0) throw error;
        batch = await withoutRefused(batch);
      }
    }
  }

  /** Submits each entry in a transaction of its own; one that fails is due again (unless refused), the others go on. */
  async function submitEach(entries: ProofEntry[]): Promise<void> {
    for (const entry of entries)
      try {
        await submitEntries([entry]);
      } catch (error) {
        common.logger.error("proof submission failed; will retry", { jobId: entry.jobId, error });
        if (refused.get(entry.jobId) !== entry.cumulativeTokens) schedule(entry.jobId);
      }
  }

  /** Submits the newest receipts of these sessions now, in batches of at most `maxJobs`. */
  function submit(jobIds: readonly bigint[]): Promise<void> {
    return sender.exclusive(async () => {
      const entries: ProofEntry[] = [];
      for (const jobId of jobIds) {
        try {
          const entry = await proofEntry(jobId);
          if (entry) entries.push(entry);
        } catch (error) {
          // A chain read failed (RPC down) or the store did (PostgreSQL restarting): try again shortly, or the
          // checkpoint would wait for the idle flush while the depositor is free to complete without paying for it.
          const retrying = isRetryableError(error) || (error instanceof HostError && error.code === "storage_unavailable");
          common.logger.warn(retrying ? "cannot prepare a proof now; will retry" : "cannot prepare a proof", { jobId, error });
          if (retrying) setTimeout(() => schedule(jobId), prepareRetryMs).unref();
        }
      }
      for (let start = 0; start < entries.length; start += policy.maxJobs) {
        try {
          await submitEntries(entries.slice(start, start + policy.maxJobs));
        } catch (error) {
          common.logger.error("proof submission failed; will retry", { error });
          for (const entry of entries.slice(start, start + policy.maxJobs)) if (refused.get(entry.jobId) !== entry.cumulativeTokens) schedule(entry.jobId);
        }
      }
      await settleDue().catch((error: unknown) => common.logger.warn("cannot look for sessions due a settlement now; will look again", { error }));
    });
  }

  /**
   * Learns what became of the transactions still on their way (inside the queue): a proof replaced
   * or dropped for good leaves its receipts unproven, proven again now rather than at the idle flush,
   * while the depositor could still complete first; a proof found mined (its wait ran out: a slow
   * chain, a process that stopped) is judged as if its wait had seen it ({@link minedProofs}). Each
   * on its own: reconcile has recorded every fate, so no later pass sees them again; one whose judgement
   * fails (its session cannot be read) is proven again shortly, where a refusal is judged anew.
   */
  async function reconcile(): Promise<void> {
    for (const { submission, receipt } of await sender.reconcile()) {
      if (submission.status === "dropped") for (const entry of submission.entries) schedule(entry.jobId);
      else if (receipt && (submission.kind === "checkpoint" || submission.kind === "batch"))
        await minedProofs(proofEntriesOf(marketplace, submission), submission, receipt).catch((error: unknown) => {
          common.logger.warn("cannot judge a mined proof now; its sessions will be proven again", { hash: submission.txHash, error });
          for (const entry of submission.entries) schedule(entry.jobId);
        });
    }
  }

  const unprovenJobs = async () => (await store.sessionsWithUnprovenReceipts()).map((session) => session.jobId);

  function flushDue(): Promise<void> {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    const jobIds = [...due];
    due.clear();
    if (jobIds.length === 0) return Promise.resolve();
    // Timers call this with nobody awaiting: a submission that cannot start (the store or its
    // chain-writer lock unreachable) is logged and its sessions are due again shortly.
    return submit(jobIds).catch((error: unknown) => {
      common.logger.warn("cannot submit due proofs now; will retry", { jobs: jobIds, error });
      setTimeout(() => {
        for (const jobId of jobIds) schedule(jobId);
      }, prepareRetryMs).unref();
    });
  }

  function schedule(jobId: bigint): void {
    due.add(jobId);
    if (!running) return;
    if (due.size >= policy.maxJobs) void flushDue();
    else flushTimer ??= setTimeout(() => void flushDue(), policy.delayMs);
  }

  /** Idle sessions and sessions near their end get their signed tokens proven below one interval. */
  async function tick(): Promise<void> {
    if ((await store.pendingSubmissions()).length > 0)
      await sender.exclusive(reconcile).catch((error: unknown) => common.logger.warn("reconcile failed", { error }));
    if ((await store.settlementsDue()).length > 0) await sender.exclusive(settleDue);
    const chainSeconds = chainClock.nowSeconds();
    for (const state of await store.sessionsWithUnprovenReceipts()) {
      if (due.has(state.jobId) || (await pendingCoverage(store, state.jobId)) !== undefined) continue;
      const idle = now() - state.lastActivityMs >= policy.idleFlushSeconds * 1000;
      let nearDeadline = false;
      try {
        // The deadline is a term of the session (createdAt + maxDuration): no fresh read needed.
        const session = await sessions.terms(state.jobId);
        nearDeadline = session.createdAt + session.maxDuration - chainSeconds <= BigInt(policy.deadlineMarginSeconds);
      } catch (error) {
        common.logger.warn("cannot read session", { jobId: state.jobId, error });
      }
      if (idle || nearDeadline) schedule(state.jobId);
    }
    const abandonment = parameters.abandonmentTimeoutSeconds;
    if (abandonment === undefined) return;
    for (const state of await store.openSessions()) {
      if (now() - state.lastActivityMs < abandonment * 1000 || due.has(state.jobId)) continue;
      if (now() - (silentChecked.get(state.jobId) ?? 0) < silentRecheckMs) continue;
      silentChecked.set(state.jobId, now());
      await sender
        .exclusive(() => retireAbandonedSession(settlement, state.jobId, abandonment))
        .catch((error: unknown) => common.logger.warn("cannot end a silent session yet", { jobId: state.jobId, error }));
    }
  }

  return {
    /**
     * Re-broadcasts or settles transactions a previous run left pending, submits every
     * signed-but-unproven receipt found in the store, settles every session due a settlement, then
     * starts the timers.
     */
    async start(): Promise<void> {
      await sender.exclusive(reconcile);
      const unproven = await unprovenJobs();
      if (unproven.length > 0) common.logger.info("recovering signed receipts", { sessions: unproven.length });
      await submit(unproven);
      running = true;
      let ticking = false;
      tickTimer = setInterval(() => {
        if (ticking) return;
        ticking = true;
        // Nobody awaits a tick: a store or chain failure is logged and the next tick looks again
        // (an unhandled rejection would end the process, e.g. at every PostgreSQL restart).
        void tick()
          .catch((error: unknown) => common.logger.warn("cannot look for due proofs now; will look again", { error }))
          .finally(() => (ticking = false));
      }, parameters.tickMs ?? 15_000);
      tickTimer.unref();
      if (due.size > 0) void flushDue();
    },

    /** A receipt was stored: schedules the session once a checkpoint interval is signed but unproven. */
    async notify(jobId: bigint): Promise<void> {
      const state = await store.session(jobId);
      if (!state || state.closed) return;
      const covered = Math.max(state.provenTokens, (await pendingCoverage(store, jobId)) ?? 0);
      if (state.signedTokens - covered >= parameters.exposure.unsignedLimit(state.checkpointInterval)) schedule(jobId);
    },

    /** Submits every due session now instead of after the batch delay. */
    flush: flushDue,

    /** Submits every signed-but-unproven receipt now, due or not. */
    async flushAll(): Promise<void> {
      return submit(await unprovenJobs());
    },

    /**
     * Ends a session: proves the newest receipt and completes in one call
     * (`submitProofAndComplete`), or completes with `completeSessionJob` when nothing is unproven.
     * `turn`, the close's turn of the session, must still be held when the settlement is recorded.
     */
    settle(jobId: bigint, turn?: Release): Promise<SettleResult> {
      due.delete(jobId);
      return sender.exclusive(() => settleSession(settlement, jobId), turn ? [turn] : []);
    },

    /**
     * Stops the timers, then submits every signed-but-unproven receipt, waiting at most
     * `timeoutMs` for them (0: only for the transaction already in flight). Resolves with what is
     * still unproven; the next start submits it. `why`: the node is stopping, or (PostgreSQL) this
     * process lost the proof lock with its lock connection while the node goes on (a PostgreSQL
     * restart, a network fault), which is what a failure here is then reported as.
     */
    async stop(timeoutMs = 0, why: "stopping" | "lead lost" = "stopping"): Promise<UnprovenReport> {
      // A process that never led (PostgreSQL) leaves the proofs to the one that leads.
      const leading = running;
      if (!leading) timeoutMs = 0;
      running = false;
      clearTimeout(flushTimer);
      clearInterval(tickTimer);
      const work = timeoutMs > 0 ? unprovenJobs().then(submit) : sender.exclusive(async () => undefined);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        work.then(
          () => false,
          (error: unknown) => (common.logger.warn(stopFailure[why], { error }), false),
        ),
        ...(timeoutMs > 0 ? [new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))] : []),
      ]);
      clearTimeout(timer);
      return { timedOut, leading, sessions: (await store.sessionsWithUnprovenReceipts()).length, tokens: await store.unprovenSignedTokens() };
    },
  };
}
