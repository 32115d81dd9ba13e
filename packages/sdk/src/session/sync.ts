import { HostUnreachableError, SessionUnknownError } from "../errors/host.ts";
import { SessionProtocolError } from "../errors/session.ts";
import { sessionEndpoints } from "../protocol/headers.ts";
import { signCheckpoint } from "../protocol/signatures.ts";
import { parseSequence, parseSyncResponse, reconcile, type Reconciliation, type RecoveredExchange } from "./reconcile.ts";
import { assertUndisputed, deliverReceipt, dispute, getJson, hostEndpoint, postSigned, readJson, sessionAccount, sessionDomain, type HostRequestOptions } from "./transport.ts";
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
  let lastSequence: bigint | undefined;
  try {
    lastSequence = await hostLastSequence(session, options);
  } catch (error) {
    if (error instanceof SessionProtocolError) throw dispute(session, error);
    throw error;
  }
  if (lastSequence === undefined) {
    // The host never recorded anything for this session: nothing was missed.
    session.resync = false;
    session.restored = false;
    return { recovered: [], cumulativeTokens: session.cumulativeTokens, receipt: session.receipt };
  }
  if (lastSequence > session.sequence) session.sequence = lastSequence;

  const url = hostEndpoint(session, sessionEndpoints.sync);
  // Only the transport travels: a caller's chat URL or headers must not redirect the signed sync.
  const response = await postSigned(session, { signal: options.signal, fetch: options.fetch, url, endpoint: sessionEndpoints.sync, body: new TextEncoder().encode(JSON.stringify({ jobId: session.jobId.toString() })) });
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
  let view: unknown;
  try {
    view = await getJson(hostEndpoint(session, `/v1/session/${session.jobId}`), options);
  } catch (error) {
    if (error instanceof SessionUnknownError) return undefined;
    throw error;
  }
  return parseSequence((view as { lastSequence?: unknown } | null)?.lastSequence);
}
