import { HostUnreachableError, SessionUnknownError } from "../errors/host.ts";
import { HostAnswerTooLargeError, SessionProtocolError, UndeliveredAnswersError, UnrecordedAnswersError } from "../errors/session.ts";
import { sessionEndpoints } from "@session-jobs/protocol";
import { parseSequence, parseSyncResponse, reconcile, type Reconciliation, type RecoveredExchange } from "./reconcile.ts";
import { readJson } from "./readBody.ts";
import {
  assertUndisputed,
  dispute,
  getJson,
  hostEndpoint,
  postSigned,
  sessionAccount,
  sessionDomain,
  signReceipt,
  type HostRequestOptions,
} from "./transport.ts";
import { deliverReceipt } from "./receiptDelivery.ts";
import type { CountCheckOptions, Session, SessionReceipt } from "./types.ts";

/** What a sync found and signed for. */
export type SyncResult = {
  /**
   * Exchanges the client had missed the end of, now checked and covered by its newest receipt:
   * first those it signed for before its state was saved back (a restored session: `signedBefore`),
   * then those it signs for now.
   */
  recovered: RecoveredExchange[];
  /**
   * Tokens a restored session had signed for beyond its save whose answers could not be given back:
   * the host keeps the exchanges of its newest receipt only, so a save older than the receipt
   * before that loses the text in between (paid for, not recoverable). 0n when nothing is missing.
   */
  unrecoveredTokens: bigint;
  /** Tokens the session has now agreed to pay for in total. */
  cumulativeTokens: bigint;
  receipt: SessionReceipt | undefined;
};

/**
 * Most exchanges in a row the client signs for from a sync alone after its connection broke off
 * (answers that never arrived live). One covers an honest host behind a flaky network; a host
 * that drops every connection gets paid for one answer, then the session is disputed. It also
 * bounds the answers in a row that broke off after some text and that the host did not record
 * (their live text is kept: `session.liveAnswers`).
 */
export const maxUndeliveredInARow = 1;

/**
 * Most answers the host ended with an error event whose sequence numbers the client keeps on one
 * transcript hash (`session.failedAnswers`), so that none of them is signed for later. Past that,
 * a further one is taken as broken off ({@link maxUndeliveredInARow} bounds those): an honest host
 * whose backend fails up to this many answers in a row is never disputed, and one that fails every
 * answer is disputed after two more, the client keeping a bounded record.
 */
export const maxFailedAnswersKept = 8;

/** What a sync takes besides the transport. */
export type SyncOptions = HostRequestOptions & {
  countCheck?: CountCheckOptions | undefined;
  /** Called with the recovered exchanges once they are signed for, before anything else can fail. */
  onRecovered?: ((exchanges: RecoveredExchange[]) => void) | undefined;
};

/**
 * Brings the session back in step with its host (the caller holds the session lock): delivers a
 * pending receipt, learns the host's last sequence number, asks `POST /v1/session/sync` for the
 * host's newest receipt and the exchanges it keeps (those that receipt alone covers and those after
 * it), checks them ({@link reconcile}), and signs one receipt covering the ones after it. A host answer that fails a check disputes the session.
 */
export async function syncWithHost(session: Session, options: SyncOptions): Promise<SyncResult> {
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
    settled(session);
    return { recovered: [], unrecoveredTokens: 0n, cumulativeTokens: session.cumulativeTokens, receipt: session.receipt };
  }
  if (lastSequence > session.sequence) session.sequence = lastSequence;

  const url = hostEndpoint(session, sessionEndpoints.sync);
  // Only the transport travels: a caller's chat URL or headers must not redirect the signed sync.
  const response = await postSigned(session, {
    signal: options.signal,
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
    url,
    endpoint: sessionEndpoints.sync,
    body: new TextEncoder().encode(JSON.stringify({ jobId: session.jobId.toString() })),
  });
  let reconciliation: Reconciliation;
  try {
    reconciliation = await reconcile({
      domain: sessionDomain(session),
      jobId: session.jobId,
      signer: sessionAccount(session).address,
      cumulativeTokens: session.cumulativeTokens,
      transcriptHash: session.transcriptHash,
      countCheck: { ...session.countCheck, ...options.countCheck },
      liveAnswers: session.liveAnswers,
      billedAnswers: session.billedAnswers,
      failedAnswers: session.failedAnswers,
      answer: parseSyncResponse(await readJson(response)),
    });
  } catch (error) {
    // The host's records do not check out: the client signs nothing more for this session. A sync answer
    // over what the client reads is not taken for a lie: a host's config bounds it only with a margin
    // (the last answers' JSON escapes depend on their text), and a host that sends one withholds text only.
    if (error instanceof HostUnreachableError || error instanceof HostAnswerTooLargeError) throw error;
    throw dispute(session, error as Error);
  }

  countUndelivered(session, reconciliation.exchanges);
  if (reconciliation.lastSequence > session.sequence) session.sequence = reconciliation.lastSequence;
  if (reconciliation.adoptedReceipt) session.receipt = reconciliation.adoptedReceipt;
  if (reconciliation.exchanges.length > 0) {
    const checkpoint = { jobId: session.jobId, cumulativeTokens: reconciliation.cumulativeTokens, transcriptHash: reconciliation.transcriptHash };
    const signature = await signReceipt(session, checkpoint);
    session.receipt = { cumulativeTokens: checkpoint.cumulativeTokens, transcriptHash: checkpoint.transcriptHash, signature, delivered: false };
  }
  session.cumulativeTokens = reconciliation.cumulativeTokens;
  session.billedAnswers = reconciliation.billedAnswers;
  // Requests signed on the old transcript hash can no longer be recorded: their live text and failures are done with.
  if (reconciliation.transcriptHash.toLowerCase() !== session.transcriptHash.toLowerCase()) {
    session.liveAnswers = undefined;
    session.failedAnswers = undefined;
  }
  session.transcriptHash = reconciliation.transcriptHash;
  settled(session);
  // Those it had signed for before it lost its state come first: the user paid for their text too.
  const recovered = [...reconciliation.signedExchanges, ...reconciliation.exchanges];
  if (recovered.length > 0) options.onRecovered?.(recovered);
  await deliverReceipt(session, options);
  return { recovered, unrecoveredTokens: reconciliation.unrecoveredTokens, cumulativeTokens: session.cumulativeTokens, receipt: session.receipt };
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

/**
 * Applies the policy of {@link maxUndeliveredInARow} to the exchanges a sync recovered: those whose
 * connection broke off extend the run of answers that never arrived live, and so do those the
 * client stopped before any answer text arrived that bill completion tokens (a host that sends
 * nothing until the user presses Stop), while such a stop billed for its prompt alone leaves the
 * run as it is; one the client stopped after its text began (or recovered after a restart) had its
 * start delivered live and ends the run. A run too long disputes the session before anything is
 * signed.
 */
function countUndelivered(session: Session, exchanges: RecoveredExchange[]): void {
  if (exchanges.length === 0) return;
  const undelivered =
    session.brokenOff === "connection"
      ? exchanges.length
      : session.brokenOff === "clientBeforeText"
        ? exchanges.filter((exchange) => exchange.completionTokens > 0).length
        : undefined;
  const inARow = undelivered === undefined ? 0 : (session.undeliveredInARow ?? 0) + undelivered;
  if (inARow > maxUndeliveredInARow) throw dispute(session, new UndeliveredAnswersError({ jobId: session.jobId, exchanges, inARow }));
  session.undeliveredInARow = inARow;
}

/**
 * The client knows everything the host recorded again. The live text of requests on the current
 * transcript hash is kept: a host that recorded nothing yet may still record one of them later.
 * That text is of answers which broke off after some text and which the host has not recorded; an
 * honest host records each (billing what it wrote) unless it crashed mid-answer. More of them in a
 * row than {@link maxUndeliveredInARow} dispute the session, so the text kept to check the host's
 * later records holds at most one answer more than that.
 */
function settled(session: Session): void {
  const unrecordedInARow = session.liveAnswers?.length ?? 0;
  if (unrecordedInARow > maxUndeliveredInARow) throw dispute(session, new UnrecordedAnswersError({ jobId: session.jobId, inARow: unrecordedInARow }));
  session.resync = false;
  session.restored = false;
  session.brokenOff = undefined;
}
