import { isHash, type Account, type Hash, type Chain, type Client, type Transport } from "viem";
import { waitForTransactionReceipt, writeContract } from "viem/actions";
import { marketplaceAbi } from "../abis.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import {
  ContractRevertError,
  decodeContractError,
  TransactionRevertedError,
  type ContractCallError,
  type UnknownContractRevertError,
} from "../errors/contract.ts";
import { HostTimeoutError, HostUnreachableError, isPassingHostFault, type HostResponseError, type SessionHostError } from "../errors/host.ts";
import { SessionCloseInProgressError, SessionProtocolError } from "../errors/session.ts";
import { sessionEndpoints } from "@session-jobs/protocol";
import { awaitCloseUnderWay, isCloseUnderWay } from "../session/closeUnderWay.ts";
import { cancelInFlight } from "../session/inFlight.ts";
import { readJson } from "../session/readBody.ts";
import { pause } from "../session/signals.ts";
import { syncWithHost, type SyncOptions } from "../session/sync.ts";
import { acquireSessionLockUntil, hostEndpoint, needsSync, postSigned, type HostRequestOptions } from "../session/transport.ts";
import { deliverReceipt } from "../session/receiptDelivery.ts";
import type { Session } from "../session/types.ts";
import { getSettlement, settlementFromLogs, type Settlement } from "./getSettlement.ts";

export type CloseSessionParameters = HostRequestOptions & {
  session: Session;
  /**
   * How long the host gets to settle, in ms, counted from the call: waiting for a request in
   * flight to give way, the sync, the host's answers (asked again while it cannot be reached) and
   * its transaction. Default 60,000; at most 2^31 - 1 (~24.8 days, the longest a timer waits).
   */
  hostTimeoutMs?: number | undefined;
  /**
   * Called each time the host could not be reached (or answered a server error) and is about to be
   * asked again: to show that the close waits for the host, and for how long at most. What it
   * throws is ignored: the wait goes on.
   */
  onHostRetry?: ((retry: HostRetry) => void) | undefined;
  /**
   * Called when the host accepted the close and sent its settlement transaction (its hash), before
   * it is mined: the close now waits for the chain, not for the host. What it throws is ignored.
   */
  onHostSettling?: ((transactionHash: Hash) => void) | undefined;
  /** Called with the exchanges the closing sync recovered (answers that broke off), once signed for. */
  onRecovered?: SyncOptions["onRecovered"];
  /**
   * Settle as the depositor (`completeSessionJob`) when the host answers that a close is under way
   * but it does not settle within `hostTimeoutMs`, rather than throw {@link SessionCloseInProgressError}.
   * The way out from a host that answers every close so and never settles: the host is paid what
   * it has proven on chain; receipts it holds but has not proven are lost to it. Default `false`:
   * without it the close under way is waited for and never raced. A host that does not answer
   * within `hostTimeoutMs`, or refuses otherwise, is settled without whatever `force` says.
   */
  force?: boolean | undefined;
};

/** A close the host did not answer, about to ask it again (`onHostRetry`). */
export type HostRetry = {
  /** The attempts that failed so far: 1 after the first. */
  attempt: number;
  /** ms since `closeSession` was called. */
  waitedMs: number;
  /** The close's bound (`hostTimeoutMs`): past it, the SDK settles as the depositor. */
  hostTimeoutMs: number;
  /** ms until the host is asked again. */
  retryInMs: number;
  /** Why the attempt failed: a `HostUnreachableError`, or the host's server error (5xx). */
  error: unknown;
};

export type CloseSessionReturnType = Settlement & {
  /**
   * Who sent the settlement, from its `SessionCompleted` (`completedBy`): `host`, the session's host
   * (its close: it proved its newest receipt and settled); `client`, anyone else: the depositor
   * (this call's `completeSessionJob`, or another tab's), or anyone after the session's deadline.
   */
  closedBy: "host" | "client";
  /** Why the host's close did not settle, when the SDK had to. */
  hostError?: unknown;
};

export type CloseSessionErrorType =
  | SessionHostError
  | HostResponseError
  | HostUnreachableError
  | SessionCloseInProgressError
  | ContractRevertError
  | UnknownContractRevertError
  | TransactionRevertedError
  | ContractCallError;

/**
 * Ends a session and returns its settlement (tokens proven, payment, host share, treasury fee,
 * refund). Closing is always possible: a request of the session still in flight is cancelled
 * first (it throws `SessionClosingError`), and a host that does not settle within `hostTimeoutMs`
 * is settled without. A session that missed the end of an answer, or was restored from saved state, first
 * syncs (`syncSession`), so the host is paid for what it delivered. It asks the host to close (`POST /v1/session/close`): the host proves its newest
 * receipt and settles in one transaction, at no cost to the user. A host that cannot be reached
 * (down, restarting, silent past a request's `timeoutMs`: by default half of what is left of
 * `hostTimeoutMs`, so a hung host is asked again) or answers a server error (5xx) is asked
 * again, after 0.5 s, then twice as long each time up to 5 s (`onHostRetry` is told each time),
 * until `hostTimeoutMs` has passed: a host that restarts within it still settles with the receipts
 * it holds. If it does not settle in time, refuses, or its transaction fails, the SDK calls
 * `completeSessionJob` itself with the client's account (the depositor), which settles what was
 * proven so far.
 *
 * A close already under way for the session (a retried close after a timeout, a second tab or
 * device; the host answers `session_not_active` with reason `closing`) settles it as this one would:
 * closeSession waits for that settlement and returns it, looking on chain and asking the host again
 * at its `Retry-After`, within `hostTimeoutMs`, and sends nothing to the chain itself. If it does not
 * settle in time: `SessionCloseInProgressError`, with a hint; with `force: true`, the SDK settles as
 * the depositor instead (for a host that answers every close so: see `force`). Any other refusal
 * (an unknown session, one already ended on chain) is not waited for.
 *
 * @example
 * const settlement = await closeSession(walletClient, { session });
 * console.log(settlement.provenTokens, settlement.hostEarnings, settlement.treasuryFee, settlement.refund);
 */
export async function closeSession(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  parameters: CloseSessionParameters,
): Promise<CloseSessionReturnType> {
  const { session } = parameters;
  const target = { marketplace: session.marketplace, jobId: session.jobId };
  // Node's timers fire at once past 2^31 - 1 ms (~24.8 days): a longer bound is that one.
  const hostTimeoutMs = Math.min(parameters.hostTimeoutMs ?? 60_000, maxTimerMs);
  const deadline = AbortSignal.timeout(hostTimeoutMs);
  const startedAt = Date.now();
  cancelInFlight(session);
  // A stream its reader holds without reading cannot see the cancel until it reads: don't wait past the deadline.
  const { release, acquired } = await acquireSessionLockUntil(session, deadline);
  try {
    let hostError: unknown;
    try {
      if (!acquired)
        throw new HostUnreachableError({ url: hostEndpoint(session, sessionEndpoints.close), cause: new HostTimeoutError({ timeoutMs: hostTimeoutMs }) });
      const settlement = await closeThroughHost(client, session, { ...parameters, deadline, startedAt, hostTimeoutMs });
      return { ...settlement, closedBy: closedBy(settlement, session) };
    } catch (error) {
      // Waiting for another close that did not settle: settling here could race it (see the error), unless the caller forces it.
      if (parameters.signal?.aborted || (error instanceof SessionCloseInProgressError && parameters.force !== true)) throw error;
      hostError = error;
    }

    // The host's transaction may have landed after all (late answer, dropped connection).
    const settled = await getSettlement(client, { ...target, fromBlock: session.openedAtBlock });
    if (settled) return { ...settled, closedBy: closedBy(settled, session), hostError };
    const account = client.account;
    if (!account) throw hostError;
    try {
      const receipt = await writeAndWait(client, "completeSessionJob", () =>
        writeContract(client, {
          address: session.marketplace,
          abi: marketplaceAbi,
          functionName: "completeSessionJob",
          args: [session.jobId],
          account,
          chain: client.chain ?? null,
        }),
      );
      const settlement = settlementFromLogs(receipt.logs, target);
      if (!settlement) throw new SessionProtocolError("completeSessionJob emitted no SessionCompleted event.");
      return { ...settlement, closedBy: "client", hostError };
    } catch (error) {
      // Settled in between (the host, another tab of the depositor, a timeout): report that settlement, and who sent it.
      if (error instanceof ContractRevertError && error.errorName === "SessionNotActive") {
        const settlement = await getSettlement(client, { ...target, fromBlock: session.openedAtBlock });
        if (settlement) return { ...settlement, closedBy: closedBy(settlement, session), hostError };
      }
      throw error;
    }
  } finally {
    release();
  }
}

type CloseThroughHostParameters = CloseSessionParameters & { deadline: AbortSignal; startedAt: number; hostTimeoutMs: number };

/** The pause before asking again a host that did not answer a close, doubled after each failure up to {@link hostRetryMaxMs}. */
/** The longest delay Node's and browsers' timers keep; a longer one fires at once. */
const maxTimerMs = 2 ** 31 - 1;
const hostRetryFirstMs = 500;
const hostRetryMaxMs = 5_000;

/**
 * Asks the host to settle ({@link closeOnce}) until it answers or `hostTimeoutMs` has passed: a
 * passing fault (the host unreachable, a 5xx) is met with a growing pause and another attempt; any
 * other failure, or the last fault once the time is up, is thrown. Time is counted on `Date.now()`
 * as well as the deadline's timer, so a clock moved forward (a page's fake clock) ends the wait too.
 */
async function closeThroughHost(client: Client, session: Session, parameters: CloseThroughHostParameters): Promise<Settlement> {
  for (let attempt = 1; ; attempt++) {
    let failure: unknown;
    try {
      return await closeOnce(client, session, parameters);
    } catch (error) {
      failure = error;
    }
    if (!isPassingHostFault(failure) || parameters.signal?.aborted) throw failure;
    const waitedMs = Date.now() - parameters.startedAt;
    const retryInMs = Math.min(hostRetryFirstMs * 2 ** (attempt - 1), hostRetryMaxMs, parameters.hostTimeoutMs - waitedMs);
    if (parameters.deadline.aborted || retryInMs <= 0) throw failure;
    try {
      parameters.onHostRetry?.({ attempt, waitedMs, hostTimeoutMs: parameters.hostTimeoutMs, retryInMs, error: failure });
    } catch {
      // A progress display that fails must not end the wait: the host would lose its unproven receipts.
    }
    await pause(retryInMs, parameters.signal, parameters.deadline);
    parameters.signal?.throwIfAborted();
    if (parameters.deadline.aborted || Date.now() - parameters.startedAt >= parameters.hostTimeoutMs) throw failure;
  }
}

/**
 * Asks the host to settle, once; if another close of the session is under way there (a retried
 * close, a second tab), waits for that one's settlement instead (`awaitCloseUnderWay`).
 */
async function closeOnce(client: Client, session: Session, parameters: CloseThroughHostParameters): Promise<Settlement> {
  const { deadline } = parameters;
  const signal = parameters.signal ? AbortSignal.any([parameters.signal, deadline]) : deadline;
  const url = hostEndpoint(session, sessionEndpoints.close);
  const timeoutMs = parameters.timeoutMs ?? attemptSilenceMs(parameters);
  try {
    // The host settles with the newest receipt it holds: make sure it holds the client's newest,
    // covering an answer that broke off if the host's record of it checks out (it was delivered).
    await deliverPaymentForDelivered(session, { signal, fetch: parameters.fetch, timeoutMs, onRecovered: parameters.onRecovered });
    const requestClose = () => settleThroughHost(client, session, { ...parameters, signal, timeoutMs });
    try {
      return await requestClose();
    } catch (error) {
      if (!isCloseUnderWay(error)) throw error;
      return await awaitCloseUnderWay(client, session, { ...parameters, refusal: error, closeAgain: requestClose });
    }
  } catch (error) {
    if (deadline.aborted && !parameters.signal?.aborted && !(error instanceof SessionCloseInProgressError))
      throw new HostUnreachableError({ url, cause: error });
    throw error;
  }
}

/**
 * How long one close attempt lets the host stay silent (each request's `timeoutMs`) when the caller
 * sets none: half of what is left of `hostTimeoutMs`, so that a host silent on one attempt (hung,
 * then restarted) is asked again within the bound rather than waited for until it has passed.
 */
function attemptSilenceMs(parameters: CloseThroughHostParameters): number {
  return Math.max(1, Math.ceil((parameters.hostTimeoutMs - (Date.now() - parameters.startedAt)) / 2));
}

/** `POST /v1/session/close`, then the host's settlement transaction mined. */
async function settleThroughHost(client: Client, session: Session, parameters: CloseThroughHostParameters & { signal: AbortSignal }): Promise<Settlement> {
  const response = await postSigned(session, {
    endpoint: sessionEndpoints.close,
    body: new TextEncoder().encode(JSON.stringify({ jobId: session.jobId.toString() })),
    signal: parameters.signal,
    fetch: parameters.fetch,
    timeoutMs: parameters.timeoutMs,
  });
  const answer = (await readJson(response)) as { transactionHash?: unknown; txHash?: unknown; hash?: unknown } | null;
  const hash = answer?.transactionHash ?? answer?.txHash ?? answer?.hash;
  if (typeof hash !== "string" || !isHash(hash)) throw new SessionProtocolError("The host's close answer names no transaction hash.");
  try {
    parameters.onHostSettling?.(hash);
  } catch {
    // A progress display that fails must not end the close: the host's settlement is on its way.
  }
  const remainingMs = Math.max(1, parameters.hostTimeoutMs - (Date.now() - parameters.startedAt));
  const receipt = await waitForTransactionReceipt(client, { hash, timeout: remainingMs }).catch((error: unknown) =>
    Promise.reject(decodeContractError(error, { functionName: "submitProofAndComplete" })),
  );
  if (receipt.status !== "success") throw new TransactionRevertedError({ transactionHash: hash, functionName: "submitProofAndComplete" });
  const settlement = settlementFromLogs(receipt.logs, { marketplace: session.marketplace, jobId: session.jobId });
  if (!settlement) throw new SessionProtocolError(`The host's transaction ${hash} did not settle job ${session.jobId}.`);
  return settlement;
}

/** Who ended the session: its host, or the client (the depositor). */
function closedBy(settlement: Settlement, session: Session): CloseSessionReturnType["closedBy"] {
  return settlement.completedBy.toLowerCase() === session.host.toLowerCase() ? "host" : "client";
}

/**
 * Before a close: a session that may have missed the end of an exchange first syncs, so the host is paid
 * for what it delivered and the client checked. If the sync fails (the host is unreachable or its
 * records do not check out, which disputes the session), the newest receipt is what settles.
 */
async function deliverPaymentForDelivered(session: Session, options: SyncOptions): Promise<void> {
  if (needsSync(session) && session.dispute === undefined) {
    try {
      await syncWithHost(session, options);
      return;
    } catch (error) {
      if (options.signal?.aborted) throw error;
    }
  }
  await deliverReceipt(session, options);
}
