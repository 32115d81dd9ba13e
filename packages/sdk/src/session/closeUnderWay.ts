import type { Client } from "viem";
import { getSettlement, type Settlement } from "../actions/getSettlement.ts";
import { isPassingHostFault, SessionNotActiveError } from "../errors/host.ts";
import { SessionCloseInProgressError } from "../errors/session.ts";
import { pause } from "./signals.ts";
import type { Session } from "./types.ts";

/** Between looks when the host names no `Retry-After` (ms), and the bounds put on one it names. */
const defaultRetryMs = 1_000;
const minRetryMs = 250;
const maxRetryMs = 5_000;

/** The host's answer that a close of the session is already under way (`session_not_active`, reason `closing`). */
export function isCloseUnderWay(error: unknown): error is SessionNotActiveError {
  return error instanceof SessionNotActiveError && error.closing;
}

export type AwaitCloseUnderWayParameters = {
  /** The host's refusal that named the close under way. */
  refusal: SessionNotActiveError;
  /** Asks the host to close again: it settles the session itself if the other close failed meanwhile. */
  closeAgain: () => Promise<Settlement>;
  /** The caller's abort, thrown as its reason. */
  signal?: AbortSignal | undefined;
  /** When the close's time is up: the last look, then {@link SessionCloseInProgressError}. */
  deadline: AbortSignal;
  hostTimeoutMs: number;
};

/**
 * Another close of the session is under way (a retried close, a second tab): it settles the
 * session as this one would. Until `deadline`, at each `Retry-After` the host gave (bounded), looks
 * for the settlement on chain, else asks the host to close again, which settles the session if the
 * other close failed and freed it, or is refused as closing again. A refusal for another reason
 * is thrown at once. The SDK sends nothing to the chain itself: the close under way holds a signed
 * settlement that a depositor's completion would race.
 */
export async function awaitCloseUnderWay(client: Client, session: Session, parameters: AwaitCloseUnderWayParameters): Promise<Settlement> {
  const target = { marketplace: session.marketplace, jobId: session.jobId, fromBlock: session.openedAtBlock };
  // An RPC blip is no answer: looked for again at the next turn.
  const lookOnChain = () => getSettlement(client, target).catch(() => undefined);
  let refusal = parameters.refusal;
  let lastError: unknown = refusal;
  for (;;) {
    await pause(Math.min(maxRetryMs, Math.max(minRetryMs, refusal.retryAfterMs ?? defaultRetryMs)), parameters.signal, parameters.deadline);
    parameters.signal?.throwIfAborted();
    if (parameters.deadline.aborted) break;
    const settled = await lookOnChain();
    if (settled) return settled;
    try {
      return await parameters.closeAgain();
    } catch (error) {
      if (parameters.signal?.aborted) throw error;
      // The time ran out while it asked: a close (the other, or this one taken up) is still under way.
      if (parameters.deadline.aborted) break;
      // Only a refusal for another reason ends the wait: a passing fault (the host restarting) is no sign the close under way
      // failed, and settling as the depositor now could race its signed settlement.
      if (!isCloseUnderWay(error) && !isPassingHostFault(error)) throw error;
      if (isCloseUnderWay(error)) refusal = error;
      lastError = error;
    }
  }
  // The last look, once the time is up.
  const settled = await lookOnChain();
  if (settled) return settled;
  throw new SessionCloseInProgressError({ jobId: session.jobId, waitedMs: parameters.hostTimeoutMs, cause: lastError });
}
