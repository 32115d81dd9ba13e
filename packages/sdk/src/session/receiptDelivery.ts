/**
 * Delivering a session's signed receipts to its host, in order, each once at a time, in the
 * background of the requests that follow (docs/design.md, "Receipts overlap the next request").
 */
import { sessionEndpoints, type ReceiptSubmission } from "@session-jobs/protocol";
import { HostUnreachableError } from "../errors/host.ts";
import type { HostRequestOptions } from "./hostFetch.ts";
import { finishIgnored } from "./readBody.ts";
import { untilAborted } from "./signals.ts";
import { hostEndpoint, post } from "./transport.ts";
import type { Session, SessionReceipt } from "./types.ts";

/** Whether the newest receipt still has to reach the host. */
export function receiptUndelivered(session: Session): boolean {
  return session.receipt !== undefined && !session.receipt.delivered;
}

type DeliveryOptions = HostRequestOptions & { headers?: Record<string, string> | undefined };

/** The session's newest receipt delivery in flight: a later one waits behind it, so receipts reach the host in order. */
const deliveriesInFlight = new WeakMap<Session, { receipt: SessionReceipt; done: Promise<boolean> }>();
/** The latest delivery of each receipt, kept with the receipt (a refusal stays readable from it). */
const deliveries = new WeakMap<SessionReceipt, Promise<boolean>>();

/** Whether the session's newest receipt is on its way to the host. */
export function receiptDeliveryInFlight(session: Session): boolean {
  return session.receipt !== undefined && deliveriesInFlight.get(session)?.receipt === session.receipt;
}

/**
 * Sends the newest receipt to the host if it has not acknowledged it yet. An unreachable host
 * leaves it pending (resolves false); any refusal is thrown. A receipt already on its way is not
 * sent twice: the caller joins that delivery. One sent while an older one is in flight goes once
 * that one is answered. The delivery itself runs on the transport's idle timeout, not on the
 * caller's `signal`: aborting `signal` stops the caller's wait (rejects with its reason), never a
 * delivery that another caller, or the exchange that signed the receipt, may be waiting for.
 */
export function deliverReceipt(session: Session, options: DeliveryOptions = {}): Promise<boolean> {
  const receipt = session.receipt;
  if (!receipt || receipt.delivered) return Promise.resolve(true);
  const inFlight = deliveriesInFlight.get(session);
  const delivery = inFlight?.receipt === receipt ? inFlight.done : queueDelivery(session, receipt, inFlight?.done, options);
  return untilAborted(delivery, options.signal);
}

/** The outcome of `receipt`'s latest delivery (waited for while in flight; `signal` stops the wait). */
export function receiptDelivery(receipt: SessionReceipt, signal?: AbortSignal): Promise<boolean> {
  return untilAborted(deliveries.get(receipt) ?? Promise.resolve(receipt.delivered), signal);
}

function queueDelivery(session: Session, receipt: SessionReceipt, previous: Promise<boolean> | undefined, options: DeliveryOptions): Promise<boolean> {
  const send = () => postReceipt(session, receipt, options);
  // Sent in this turn when nothing is ahead of it; after the one ahead otherwise, however that ended.
  const done = previous ? previous.then(send, send) : send();
  const entry = { receipt, done };
  deliveriesInFlight.set(session, entry);
  deliveries.set(receipt, done);
  const settled = () => {
    if (deliveriesInFlight.get(session) === entry) deliveriesInFlight.delete(session);
  };
  // Also marks a refusal as handled: it is thrown to whoever waits for this delivery.
  done.then(settled, settled);
  return done;
}

async function postReceipt(session: Session, receipt: SessionReceipt, options: DeliveryOptions): Promise<boolean> {
  const submission: ReceiptSubmission = {
    jobId: session.jobId.toString(),
    cumulativeTokens: receipt.cumulativeTokens.toString(),
    transcriptHash: receipt.transcriptHash,
    signature: receipt.signature,
  };
  try {
    // A receipt is authenticated by its own signature: no session headers, no sequence number spent.
    const answer = await post(hostEndpoint(session, sessionEndpoints.receipt), {
      fetch: options.fetch,
      timeoutMs: options.timeoutMs,
      headers: options.headers,
      body: new TextEncoder().encode(JSON.stringify(submission)),
    });
    await finishIgnored(answer);
  } catch (error) {
    if (error instanceof HostUnreachableError) return false;
    throw error;
  }
  receipt.delivered = true;
  return true;
}
