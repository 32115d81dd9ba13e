import { HostUnreachableError, parseHostError, SessionUnknownError } from "../errors/host.ts";
import { SessionProtocolError } from "../errors/session.ts";
import { sessionEndpoints } from "../protocol/headers.ts";
import { signCheckpoint } from "../protocol/signatures.ts";
import { maxSequence, parseSyncResponse, reconcile, type Reconciliation, type RecoveredExchange } from "./reconcile.ts";
import { assertUndisputed, deliverReceipt, dispute, hostEndpoint, postSigned, sessionAccount, sessionDomain, type HostRequestOptions } from "./transport.ts";
import type { CountCheckOptions, Session, SessionReceipt } from "./types.ts";

/** What a sync found and signed for. */
export type SyncResult = {
  /** Exchanges the client had missed the end of, now checked and covered by its newest receipt. */
  recovered: RecoveredExchange[];
  /** Tokens the session has now agreed to pay for in total. */
  cumulativeTokens: bigint;
  receipt: SessionReceipt | undefined;
};

/**
 * Brings the session back in step with its host (the caller holds the session lock): delivers a
 * pending receipt, learns the host's last sequence number, asks `POST /v1/session/sync` for the
 * host's newest receipt and the exchanges after it, checks them ({@link reconcile}), and signs one
 * receipt covering them. A host answer that fails a check disputes the session.
 */
export async function syncWithHost(
  session: Session,
  options: HostRequestOptions & { countCheck?: CountCheckOptions | undefined },
): Promise<SyncResult> {
  assertUndisputed(session);
  await deliverReceipt(session, options);
  const lastSequence = await hostLastSequence(session, options);
  if (lastSequence === undefined) {
    // The host never recorded anything for this session: nothing was missed.
    session.resync = false;
    session.restored = false;
    return { recovered: [], cumulativeTokens: session.cumulativeTokens, receipt: session.receipt };
  }
  if (lastSequence >= maxSequence) throw dispute(session, new SessionProtocolError(`The host claims ${lastSequence} requests for this session.`));
  if (lastSequence > session.sequence) session.sequence = lastSequence;

  const url = hostEndpoint(session, sessionEndpoints.sync);
  const response = await postSigned(session, { ...options, endpoint: sessionEndpoints.sync, body: new TextEncoder().encode(JSON.stringify({ jobId: session.jobId.toString() })) });
  let reconciliation: Reconciliation;
  try {
    reconciliation = await reconcile({
      domain: sessionDomain(session),
      jobId: session.jobId,
      signer: sessionAccount(session).address,
      cumulativeTokens: session.cumulativeTokens,
      transcriptHash: session.transcriptHash,
      countCheck: { ...session.countCheck, ...options.countCheck },
      answer: parseSyncResponse(await readJson(response, url)),
    });
  } catch (error) {
    // The host's records do not check out: the client signs nothing more for this session.
    if (error instanceof HostUnreachableError) throw error;
    throw dispute(session, error as Error);
  }

  if (reconciliation.lastSequence > session.sequence) session.sequence = reconciliation.lastSequence;
  if (reconciliation.adoptedReceipt) session.receipt = reconciliation.adoptedReceipt;
  if (reconciliation.exchanges.length > 0) {
    const checkpoint = { jobId: session.jobId, cumulativeTokens: reconciliation.cumulativeTokens, transcriptHash: reconciliation.transcriptHash };
    const signature = await signCheckpoint(sessionAccount(session), sessionDomain(session), checkpoint);
    session.receipt = { cumulativeTokens: checkpoint.cumulativeTokens, transcriptHash: checkpoint.transcriptHash, signature, delivered: false };
  }
  session.cumulativeTokens = reconciliation.cumulativeTokens;
  session.transcriptHash = reconciliation.transcriptHash;
  session.resync = false;
  session.restored = false;
  await deliverReceipt(session, options);
  return { recovered: reconciliation.exchanges, cumulativeTokens: session.cumulativeTokens, receipt: session.receipt };
}

/** `lastSequence` from the host's public `GET /v1/session/:jobId`; undefined if it knows nothing of the session. */
async function hostLastSequence(session: Session, options: HostRequestOptions): Promise<bigint | undefined> {
  const url = hostEndpoint(session, `/v1/session/${session.jobId}`);
  let response: Response;
  try {
    response = await (options.fetch ?? globalThis.fetch)(url, { headers: { accept: "application/json" }, signal: options.signal });
  } catch (cause) {
    if (options.signal?.aborted) throw cause;
    throw new HostUnreachableError({ url, cause });
  }
  if (!response.ok) {
    const error = parseHostError({ status: response.status, url, body: await response.text() });
    if (error instanceof SessionUnknownError) return undefined;
    throw error;
  }
  const view = (await readJson(response, url)) as { lastSequence?: unknown };
  return typeof view.lastSequence === "string" && /^\d{1,78}$/.test(view.lastSequence) ? BigInt(view.lastSequence) : 0n;
}

/** A response body as JSON; a connection that breaks while it is read is an unreachable host. */
async function readJson(response: Response, url: string): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch (cause) {
    throw new HostUnreachableError({ url, cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new SessionProtocolError("The host's answer is not JSON.", { details: text.slice(0, 200), cause });
  }
}
