import { BaseError, type Hex } from "viem";
import type { Common } from "../common.ts";
import { HostError } from "../errors.ts";
import type { Store, StoredReceipt } from "../store/storeTypes.ts";
import { CallRevertedError } from "./callReverted.ts";
import type { ChainClock } from "./chainClock.ts";
import { endedOnChain, unknownToNode, type SessionCache } from "./chainSession.ts";
import { pendingCoverage } from "./proofCoverage.ts";
import { marketplaceCall, settlementCall, type Marketplace } from "./proofCalls.ts";
import { judgeRefusal, type RefusalContext } from "./refusalVerdict.ts";
import { isRetryableError } from "./retry.ts";
import type { TransactionSender } from "./transactionSender.ts";

export type SettleResult = { transactionHash: Hex; provenTokens: string; mined: boolean };

/** What ending a session needs: the store, the chain's view of sessions and the one transaction sender. */
export type SettlementContext = {
  common: Common;
  store: Store;
  sender: TransactionSender;
  sessions: SessionCache;
  marketplace: Marketplace;
  /** What `claimAbandonedSession` is judged by: the chain's time. */
  chainClock: Pick<ChainClock, "nowSeconds">;
  isEcdsaReceipt: RefusalContext["isEcdsaReceipt"];
  /**
   * Learns what became of the transactions still on their way (the sender's reconcile), a proof
   * found mined being judged as if its wait had seen it. Inside the queue.
   */
  reconcile: () => Promise<void>;
};

/**
 * A chain read before anything was sent failed (an RPC outage, or a node that cannot answer now,
 * such as a lagging one behind a balancer): the close is refused as retryable. Not ours to judge
 * further, as a session's first read is not (sessionAuthentication).
 */
function chainUnreachable(error: unknown): never {
  if (!(error instanceof HostError) && (error instanceof BaseError || isRetryableError(error)))
    throw new HostError("chain_unavailable", "cannot reach the chain to settle; retry later", { cause: error });
  throw error;
}

/**
 * Whether a reverted proof says the receipt is invalid (its signature over the cumulative count the
 * contract computed, or the model's check), unlike an ended session or an RPC's refusal. Whether the
 * receipt itself is at fault is for {@link judgeRefusal}.
 */
export const refusesReceipt = (error: CallRevertedError): boolean => error.errorName === "InvalidProof" || error.errorName === "InvalidProofLength";

/**
 * The chain refuses a stored receipt of this session: every process serves it nothing more from
 * here on (closed in the store, durably), and its proof is never sent again. The same write marks
 * its settlement due ({@link settleRefused}), so that a process that stops before settling it
 * leaves the settlement to the one that leads proofs next.
 */
export async function refuseSession(
  context: Pick<SettlementContext, "common" | "store">,
  jobId: bigint,
  cumulativeTokens: number,
  reason: string,
): Promise<void> {
  await context.store.markRefused(jobId);
  context.common.logger.error("chain refuses a stored receipt: session closed, to be settled for what is proven", { jobId, cumulativeTokens, reason });
}

/**
 * Whether a settlement's failure shows its session ended on chain: a fresh read of it, or the
 * contract's `SessionNotActive`. Another revert (`session_not_active` too, for a client's close)
 * says nothing of the sort.
 */
export function showsSessionEnded(error: unknown): boolean {
  if (!(error instanceof HostError && error.code === "session_not_active")) return false;
  return !(error.cause instanceof CallRevertedError) || error.cause.errorName === "SessionNotActive";
}

/**
 * Settles a session closed by {@link refuseSession} for what is proven, without its refused
 * receipt (`completeSessionJob`), and clears its due mark once the settlement is mined or the
 * session is shown ended otherwise ({@link showsSessionEnded}); any other failure keeps the mark,
 * tried again at the next tick. Inside the queue.
 */
export async function settleRefused(context: SettlementContext, jobId: bigint): Promise<SettleResult> {
  try {
    const settled = await settleSession(context, jobId, { proveNewest: false });
    if (settled.mined) await context.store.clearSettlementDue(jobId);
    return settled;
  } catch (error) {
    if (showsSessionEnded(error)) await context.store.clearSettlementDue(jobId);
    throw error;
  }
}

/**
 * The chain refused a settlement's final receipt, built on `provenTokens`, as invalid. Judged by
 * {@link judgeRefusal}: a receipt that rested on ERC-1271, refused for good, closes the session
 * ({@link refuseSession}) and it completes without it, paid what is proven; a proven count that
 * moved (a proof on its way, a node behind) is a retryable refusal of the close; otherwise the
 * receipt is not at fault and the close is refused with `otherwise`, the session kept.
 */
async function refusedFinal(
  context: SettlementContext,
  jobId: bigint,
  final: StoredReceipt,
  provenTokens: number,
  reason: string,
  otherwise: HostError,
): Promise<SettleResult> {
  const verdict = await judgeRefusal(context, jobId, provenTokens, final).catch(chainUnreachable);
  if (verdict === "stale")
    throw new HostError("chain_unavailable", `session ${jobId}'s proven tokens moved while it was being settled (a proof on its way?); retry later`, {
      cause: otherwise,
    });
  if (verdict === "notTheReceipt") throw otherwise;
  await refuseSession(context, jobId, final.cumulativeTokens, reason);
  return settleRefused(context, jobId);
}

/**
 * Settles a session: final proof and completion in one call, or completion alone. A final receipt
 * the chain refuses is judged by {@link refusedFinal}. `proveNewest: false` completes without trying the newest receipt (one already
 * refused). Inside the queue.
 */
export async function settleSession(context: SettlementContext, jobId: bigint, options: { proveNewest?: boolean } = {}): Promise<SettleResult> {
  const { common, store, sender, sessions, marketplace } = context;
  if ((await pendingCoverage(store, jobId)) !== undefined) await context.reconcile().catch(chainUnreachable);
  const session = await sessions.get(jobId, { fresh: true }).catch(chainUnreachable);
  if (session.status === "none") throw unknownToNode(jobId);
  if (endedOnChain(session)) {
    await store.markClosed(jobId);
    throw new HostError("session_not_active", `session ${jobId} is already ${session.status}`);
  }
  const provenTokens = Number(session.provenTokens);
  await store.setProvenTokens(jobId, provenTokens);
  const receipt = options.proveNewest === false ? undefined : await store.newestReceipt(jobId);
  const final = receipt && receipt.cumulativeTokens > provenTokens ? receipt : undefined;
  const settlement = settlementCall(marketplace, jobId, final, provenTokens);
  const cumulativeTokens = final?.cumulativeTokens ?? provenTokens;
  let sent;
  try {
    sent = await sender.send(settlement, {
      kind: final ? "final" : "complete",
      entries: [{ jobId, cumulativeTokens, tokensInBatch: cumulativeTokens - provenTokens }],
    });
  } catch (error) {
    // The store stopped taking writes (its lock connection or file lost) before the transaction was recorded,
    // or the node kept refusing the nonce as used.
    if (error instanceof HostError) throw error;
    if (error instanceof CallRevertedError) {
      const refusal = new HostError("session_not_active", `the chain refuses to settle session ${jobId}: ${error.reason}`, { cause: error });
      if (!final || !refusesReceipt(error)) throw refusal;
      return refusedFinal(context, jobId, final, provenTokens, error.reason, refusal);
    }
    throw new HostError("chain_unavailable", "cannot reach the chain to settle; retry later", { cause: error });
  }
  if (sent.receipt && sent.receipt.status !== "success") {
    const error = await revertedSettlement(context, jobId, sent.submission.txHash);
    // Still active: the transaction refused the final receipt that simulated (a contract signer answers a call and a transaction differently).
    if (!final || error.code !== "internal_error") throw error;
    return refusedFinal(context, jobId, final, provenTokens, `settlement ${sent.submission.txHash} reverted`, error);
  }
  if (sent.receipt) {
    sessions.update(jobId, { status: "completed", provenTokens: BigInt(cumulativeTokens) });
    if (final) common.metrics.tokensProven.inc(cumulativeTokens - provenTokens);
  }
  return { transactionHash: sent.submission.txHash, provenTokens: String(cumulativeTokens), mined: sent.receipt !== undefined };
}

/**
 * Why a settlement that simulated was mined reverted. The contract reverts one for a session no
 * longer active (`SessionNotActive`: the depositor completed it, anyone timed it out, in the same
 * block or since the simulation) or for a proof it refuses (`InvalidProof`, "Exceeds deposit",
 * `ZeroTokens`: none should pass the simulation first, so a bug or a reorg). The session's fresh
 * state tells them apart: settled by someone else, it is closed here too and the close refused
 * as any close of an ended session is (`409 session_not_active`); still active, a 500.
 */
async function revertedSettlement(context: SettlementContext, jobId: bigint, hash: Hex): Promise<HostError> {
  const session = await context.sessions.get(jobId, { fresh: true }).catch(chainUnreachable);
  if (session.status === "none") return unknownToNode(jobId);
  if (session.status === "active") {
    context.common.logger.error("settlement reverted with the session still active", { jobId, hash });
    return new HostError("internal_error", `settlement ${hash} reverted`);
  }
  await context.store.markClosed(jobId);
  return new HostError("session_not_active", `session ${jobId} was ${session.status} on chain before its settlement ${hash} was mined`);
}

/** Ends a session whose client went silent, so that the host's proven work is paid. Inside the queue. */
export async function retireAbandonedSession(context: SettlementContext, jobId: bigint, timeoutSeconds: number): Promise<void> {
  const { common, store, sender, sessions, marketplace, chainClock } = context;
  const session = await sessions.get(jobId, { fresh: true });
  if (session.status === "none") return; // a node behind: looked at again at the next round
  if (endedOnChain(session)) {
    await store.markClosed(jobId);
    return;
  }
  const receipt = await store.newestReceipt(jobId);
  if (receipt && receipt.cumulativeTokens > Number(session.provenTokens)) {
    const settled = await settleSession(context, jobId);
    common.logger.info("settled a silent session", { jobId, hash: settled.transactionHash });
    return;
  }
  // Nothing proven means nothing to be paid: not worth a transaction.
  if (session.provenTokens === 0n || session.lastActivity + BigInt(timeoutSeconds) > chainClock.nowSeconds()) return;
  const { submission, receipt: mined } = await sender.send(marketplaceCall(marketplace, "claimAbandonedSession", [jobId]), {
    kind: "claim",
    entries: [{ jobId, cumulativeTokens: Number(session.provenTokens), tokensInBatch: 0 }],
  });
  if (mined?.status === "success") sessions.update(jobId, { status: "abandoned" });
  common.logger.info("claimed an abandoned session", { jobId, hash: submission.txHash });
}
