import type { Hex } from "viem";
import { HostResponseError, HostUnreachableError, parseHostError, SessionHostError, SessionReceiptOverdueError } from "../errors/host.ts";
import { HostAnswerTooLargeError, SessionProtocolError, TokenCountMismatchError, TranscriptMismatchError } from "../errors/session.ts";
import { sessionEndpoints, type SessionUsage, nextTranscriptHash } from "@session-jobs/protocol";
import { rememberAnswer } from "./billedAnswers.ts";
import { checkTokenCounts } from "./countCheck.ts";
import { beginExchange, type ExchangeCall } from "./inFlight.ts";
import { readText } from "./readBody.ts";
import type { HostBody } from "./hostFetch.ts";
import { createAnswerEventParser } from "./sse.ts";
import type { RecoveredExchange } from "./reconcile.ts";
import { maxFailedAnswersKept, syncWithHost, type SyncResult } from "./sync.ts";
import { acquireSessionLock, assertUndisputed, dispute, hostEndpoint, needsSync, postSigned, signReceipt, type HostRequestOptions } from "./transport.ts";
import { deliverReceipt, receiptDelivery, receiptDeliveryInFlight, receiptUndelivered } from "./receiptDelivery.ts";
import type { CountCheckOptions, Session, SessionReceipt } from "./types.ts";

/** A chat request body (OpenAI `chat.completions.create` fields). */
export type ChatRequestBody = { messages: unknown[]; stream?: boolean; [field: string]: unknown };

/** One SSE chunk of a streamed chat completion, as far as the session protocol reads it. */
export type ChatCompletionChunk = {
  choices?: { index?: number; delta?: { content?: string | null } }[];
  usage?: unknown;
  session?: SessionUsage;
  [field: string]: unknown;
};

/** What one accepted exchange produced. */
export type ExchangeResult = {
  /** The assistant text delivered. */
  text: string;
  promptTokens: number;
  completionTokens: number;
  /** Tokens the session has now agreed to pay for in total. */
  cumulativeTokens: bigint;
  transcriptHash: Hex;
  /**
   * The receipt signed for this exchange. `delivered` turns true once the host acknowledged it;
   * it stays false if the host could not be reached (it is resent first thing next time). `chat`
   * and `streamChat`'s `result` settle once its delivery was tried.
   */
  receipt: SessionReceipt;
  /**
   * Earlier exchanges this client missed the end of and recovered from the host before sending
   * this request (a broken-off stream, a resume from saved state); now covered by `receipt` too.
   */
  recovered: RecoveredExchange[];
  /**
   * Tokens a restored session had signed for whose answers that sync could not get back (the host
   * no longer keeps them: {@link SyncResult.unrecoveredTokens}); 0n when nothing is missing.
   */
  unrecoveredTokens: bigint;
};

/**
 * Checks the host's claim for one exchange, signs the cumulative receipt and starts its delivery
 * ({@link deliverReceipt}; wait for it with {@link receiptDelivery}), so the session's next request
 * need not wait for it. A claim that fails the count check or the transcript comparison gets no
 * receipt and disputes the session.
 */
export async function acceptExchange(
  session: Session,
  parameters: HostRequestOptions & {
    headers?: Record<string, string> | undefined;
    requestBytes: Uint8Array<ArrayBuffer>;
    request: ChatRequestBody;
    responseText: string;
    usage: SessionUsage | undefined;
    countCheck?: CountCheckOptions | undefined;
  } & Pick<SyncResult, "recovered" | "unrecoveredTokens">,
): Promise<ExchangeResult> {
  const { requestBytes, request, responseText, usage } = parameters;
  if (!usage) throw dispute(session, new SessionProtocolError("The host's answer carries no `session` usage object."));
  if (usage.jobId !== session.jobId.toString())
    throw dispute(session, new SessionProtocolError(`The host answered for job ${usage.jobId}, not ${session.jobId}.`));

  const violations = checkTokenCounts({
    request,
    responseText,
    usage,
    previousCumulativeTokens: session.cumulativeTokens,
    options: { ...session.countCheck, ...parameters.countCheck },
    billedAnswers: session.billedAnswers,
  });
  if (violations.length > 0) throw dispute(session, new TokenCountMismatchError({ violations }));

  const transcriptHash = nextTranscriptHash(session.transcriptHash, {
    requestBody: requestBytes,
    responseText,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
  });
  if (transcriptHash !== usage.transcriptHash) throw dispute(session, new TranscriptMismatchError({ expected: transcriptHash, claimed: usage.transcriptHash }));

  const cumulativeTokens = BigInt(usage.cumulativeTokens);
  const signature = await signReceipt(session, { jobId: session.jobId, cumulativeTokens, transcriptHash });
  session.transcriptHash = transcriptHash;
  session.cumulativeTokens = cumulativeTokens;
  session.receipt = { cumulativeTokens, transcriptHash, signature, delivered: false };
  session.resync = false;
  session.liveAnswers = undefined;
  session.failedAnswers = undefined;
  session.undeliveredInARow = 0;
  session.billedAnswers = rememberAnswer(session.billedAnswers, responseText, usage.completionTokens);
  // Its outcome is for the caller to wait for (receiptDelivery); the delivery keeps a refusal.
  void deliverReceipt(session, { fetch: parameters.fetch, timeoutMs: parameters.timeoutMs, headers: parameters.headers });
  return {
    text: responseText,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    cumulativeTokens,
    transcriptHash,
    receipt: session.receipt,
    recovered: parameters.recovered,
    unrecoveredTokens: parameters.unrecoveredTokens,
  };
}

/** Encodes a request body once: these exact bytes are signed, sent and hashed into the transcript. */
export function encodeRequest(request: ChatRequestBody): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify(request));
}

/** What one chat exchange sends. */
export type ExchangeParameters = HostRequestOptions & {
  request: ChatRequestBody;
  countCheck?: CountCheckOptions | undefined;
  /** The chat completions URL; default `${hostUrl}/v1/chat/completions`. */
  url?: string | undefined;
  /** Extra request headers (the session headers always win). */
  headers?: Record<string, string> | undefined;
  /** Called when the exchange is cancelled (`closeSession`, or `signal`), so a holder of its suspended stream can let go. */
  onCancel?: ((reason: unknown) => void) | undefined;
  /** Called with the exchanges a sync recovered before this request, once signed for (even if this request then fails). */
  onRecovered?: ((exchanges: RecoveredExchange[]) => void) | undefined;
};

/**
 * How far one exchange got: whether its request went out (from then on the host may bill it), with
 * which sequence number, and whether the host ended its answer with an error event.
 */
type ExchangeProgress = { sent: boolean; sequence?: bigint | undefined; answeredWithError?: boolean | undefined };

/**
 * Sends a chat request once the session may go on: undisputed, in step with the host (a session
 * that may have missed the end of an exchange, or was restored from saved state, syncs first),
 * and its newest receipt delivered or on its way. A receipt still on its way is not waited for:
 * the host decides whether it serves more without it. If it refuses (`session_receipt_overdue`),
 * the request is sent again, once, after that delivery; the refusal consumed nothing at the host
 * (a refused request takes no sequence number). A receipt that did not reach the host
 * (unreachable) is delivered again first. The body is encoded once; those bytes are signed, sent
 * and later hashed. With nothing to wait for (no sync, no receipt to deliver, a native signer)
 * the request is handed to the transport before the first `await`: sessions started together
 * each send as soon as their own request is ready, not all in lock-step.
 *
 * After that sync the client knows everything the host recorded, so a host that still refuses the
 * request as replayed or out of sync is not believed: the error is thrown, nothing is synced or
 * signed on its say-so (else it could refuse a request, then bill it as served, on every call).
 */
async function sendChatRequest(session: Session, parameters: ExchangeParameters, progress: ExchangeProgress, accept: string) {
  assertUndisputed(session);
  const transport = { signal: parameters.signal, fetch: parameters.fetch, timeoutMs: parameters.timeoutMs };
  let synced: Pick<SyncResult, "recovered" | "unrecoveredTokens"> = { recovered: [], unrecoveredTokens: 0n };
  if (needsSync(session)) synced = await syncWithHost(session, { ...transport, countCheck: parameters.countCheck, onRecovered: parameters.onRecovered });
  else if (receiptUndelivered(session) && !receiptDeliveryInFlight(session)) await deliverReceipt(session, { ...transport, headers: parameters.headers });
  const requestBytes = encodeRequest(parameters.request);
  const url = parameters.url ?? hostEndpoint(session, sessionEndpoints.chat);
  const post = () => postChatRequest(session, progress, { ...parameters, endpoint: sessionEndpoints.chat, url, body: requestBytes, accept });
  const overlapping = receiptDeliveryInFlight(session);
  let answer: HostBody;
  try {
    answer = await post();
  } catch (error) {
    if (!(overlapping && error instanceof SessionReceiptOverdueError)) throw error;
    await deliverReceipt(session, { ...transport, headers: parameters.headers });
    answer = await post();
  }
  return { requestBytes, url, answer, recovered: synced.recovered, unrecoveredTokens: synced.unrecoveredTokens };
}

/**
 * POSTs a chat request. Until its answer is accepted the client cannot know what the host
 * recorded, so the session is marked for a sync, broken off by the connection unless the client
 * stops it itself ({@link exchangeFailed}); a refusal (the host changed nothing) clears the mark.
 */
async function postChatRequest(session: Session, progress: ExchangeProgress, parameters: Parameters<typeof postSigned>[1]): Promise<HostBody> {
  session.resync = true;
  session.brokenOff = "connection";
  progress.sent = true;
  try {
    const answer = postSigned(session, parameters);
    // postSigned numbered the request before its first `await` (a receipt's delivery meanwhile takes no number).
    progress.sequence = session.sequence;
    return await answer;
  } catch (error) {
    if (error instanceof SessionHostError || error instanceof HostResponseError) session.resync = false;
    throw error;
  }
}

/**
 * What an exchange that failed leaves behind: an answer larger than any honest one disputes the
 * session; one the host ended with an error event is kept as failed ({@link answerFailed}); an
 * exchange the client stopped itself (its signal, leaving a stream, `closeSession`) after sending
 * it is marked as broken off by the client, so its recovery does not count against the host
 * (docs/design.md, "Answers that never arrived live") unless it stopped it before any answer text
 * arrived and the host bills completion tokens for it; the text received live of an exchange
 * awaiting a sync is kept beside that of earlier requests on the same transcript hash, for any
 * later sync to hold the host's record of it to.
 */
function exchangeFailed(session: Session, call: ExchangeCall, progress: ExchangeProgress, error: unknown, liveText = ""): unknown {
  if (error instanceof HostAnswerTooLargeError) return dispute(session, error);
  if (progress.answeredWithError && progress.sequence !== undefined) answerFailed(session, progress.sequence);
  if (progress.sent && session.resync) {
    if (call.signal.aborted) session.brokenOff = liveText === "" ? "clientBeforeText" : "client";
    if (liveText !== "" && progress.sequence !== undefined)
      session.liveAnswers = [...(session.liveAnswers ?? []), { sequence: progress.sequence, text: liveText }];
  }
  return error;
}

/**
 * The host ended the answer with an error event: by its protocol that exchange is neither billed nor
 * recorded, ever (a host that fails after committing its record breaks the connection instead), so
 * its sequence number is kept while the transcript stays where it is and any later sync that
 * presents it as recorded disputes the session, whatever its text (docs/design.md, "Answers the
 * host said failed"). These do not count as answers the host broke off (an honest backend may fail
 * several times in a row), so the client does not sync for them. At most
 * {@link maxFailedAnswersKept} are kept; an error event past that is taken as a break after which
 * the host may have recorded the answer: the client syncs, and its live text is checked and counts
 * towards the bound of `session.liveAnswers`.
 */
function answerFailed(session: Session, sequence: bigint): void {
  const failed = session.failedAnswers ?? [];
  if (failed.length >= maxFailedAnswersKept) return;
  session.failedAnswers = [...failed, sequence];
  session.resync = false;
}

/**
 * Runs one non-streamed chat exchange: signed request, JSON answer, checked and receipted. Settles
 * once the receipt's delivery was tried; the session is free for the next request meanwhile.
 */
export async function jsonExchange(session: Session, parameters: ExchangeParameters): Promise<ExchangeResult & { response: Record<string, unknown> }> {
  const accepted = await acceptedJsonExchange(session, parameters);
  await receiptDelivery(accepted.receipt, parameters.signal);
  return accepted;
}

async function acceptedJsonExchange(session: Session, parameters: ExchangeParameters): Promise<ExchangeResult & { response: Record<string, unknown> }> {
  const lock = acquireSessionLock(session);
  // Not awaited when free: the request goes out in the turn that prepared it.
  const release = typeof lock === "function" ? lock : await lock;
  const call = beginExchange(session, parameters.signal);
  const progress = { sent: false };
  try {
    const exchange = { ...parameters, signal: call.signal };
    const { requestBytes, answer, recovered, unrecoveredTokens } = await sendChatRequest(session, exchange, progress, "application/json");
    // A connection that breaks during the answer is an unreachable host; the next request recovers the answer.
    const body = await readText(answer);
    let completion: { choices?: { message?: { content?: string | null } }[]; session?: SessionUsage };
    try {
      completion = JSON.parse(body) as typeof completion;
    } catch (cause) {
      // Cut short on its way (fetch decodes a compressed answer leniently): unreachable, recovered by the next request, as over node:http.
      throw (
        answer.cutShort?.() ?? dispute(session, new SessionProtocolError("The host's chat completion is not JSON.", { details: body.slice(0, 200), cause }))
      );
    }
    const responseText = completion.choices?.[0]?.message?.content ?? "";
    const result = await acceptExchange(session, { ...parameters, requestBytes, responseText, usage: completion.session, recovered, unrecoveredTokens });
    return { ...result, response: completion };
  } catch (error) {
    throw exchangeFailed(session, call, progress, error);
  } finally {
    call.end();
    release();
  }
}

/**
 * Runs one streamed chat exchange, yielding the host's SSE chunks as they arrive and returning
 * the accepted exchange once the stream ends and the receipt is signed (its delivery is then on
 * its way: {@link receiptDelivery}). A consumer that stops early (`break`, `return()`)
 * or aborts cancels the request: the host stops generating and bills what it wrote, which the
 * next request recovers from the host (a sync), checks and signs for. A stream that breaks off
 * (a lost connection, a silent host) is recovered the same way.
 */
export async function* streamExchange(session: Session, parameters: ExchangeParameters): AsyncGenerator<ChatCompletionChunk, ExchangeResult, undefined> {
  const lock = acquireSessionLock(session);
  // Not awaited when free: the request goes out in the turn that prepared it.
  const release = typeof lock === "function" ? lock : await lock;
  const call = beginExchange(session, parameters.signal);
  const onCancel = () => parameters.onCancel?.(call.signal.reason);
  call.signal.addEventListener("abort", onCancel, { once: true });
  const progress = { sent: false };
  let answer: HostBody | undefined;
  let settled = false;
  // The answer text received so far.
  let text = "";
  try {
    const exchange = { ...parameters, signal: call.signal };
    const sent = await sendChatRequest(session, exchange, progress, "text/event-stream");
    const { requestBytes, url, recovered, unrecoveredTokens } = sent;
    answer = sent.answer;
    // Each read's events are handled in this loop: no async generator per event between the body and the caller.
    const parser = createAnswerEventParser();
    let usage: SessionUsage | undefined;
    let done = false;
    // The next read is in flight while a read's events are handled, so the end of the body that
    // follows `[DONE]` is read when it arrives and the connection is reused, not cut by the cancel.
    const readNext = (body: HostBody) => {
      const read = body.read();
      // A failure is thrown where the read is awaited; one left behind (after `[DONE]`) is moot.
      read.catch(() => undefined);
      return read;
    };
    let reading = readNext(answer);
    for (let ended = false; !ended && !done;) {
      const next = await reading;
      ended = next.done;
      if (!ended) reading = readNext(answer);
      for (const event of next.done ? parser.end() : parser.push(next.value)) {
        if (event.data.trim() === "[DONE]") {
          done = true;
          break;
        }
        const chunk = parseChunk(session, progress, event.data, url);
        const content = deltaContent(chunk);
        // Only answer text (or its end, once) is the host's progress: comments, blank lines, events
        // without text, partial events and a `session` object sent again would keep its clock from
        // running out without end.
        if (content) {
          text += content;
          answer.progress();
        }
        if (chunk.session && !usage) {
          usage = chunk.session;
          answer.progress();
        }
        yield chunk;
      }
    }
    // A stream cut off before `[DONE]` without usage is a broken connection, not a host's claim.
    if (!usage && !done)
      throw new HostUnreachableError({ url, cause: new Error("the stream ended before the host's usage arrived; the next request recovers the answer") });
    // The end that follows `[DONE]`, when it is already here, is taken before the receipt goes out:
    // the connection is then back in the pool and carries the receipt, which would otherwise open a
    // second connection to the host (one more TCP handshake and socket for each side). An end still
    // on its way is not waited for, and a failure after the end of the answer changes nothing.
    if (done && answer.arrived()) await reading.catch(() => undefined);
    settled = true;
    return await acceptExchange(session, { ...parameters, requestBytes, responseText: text, usage, recovered, unrecoveredTokens });
  } catch (error) {
    settled = true;
    throw exchangeFailed(session, call, progress, error, text);
  } finally {
    if (!settled) {
      // The consumer left mid-answer: stop the host's generation by closing the connection.
      call.cancel(new DOMException("The reader left the stream.", "AbortError"));
      exchangeFailed(session, call, progress, call.signal.reason, text);
    }
    call.signal.removeEventListener("abort", onCancel);
    await answer?.cancel();
    call.end();
    release();
  }
}

/** The text a chunk adds to the answer: the delta of its one choice ({@link parseChunk} refused any other). */
export function deltaContent(chunk: ChatCompletionChunk): string | null | undefined {
  return chunk.choices?.[0]?.delta?.content;
}

/**
 * One SSE chunk; a host's error event ends an exchange that is neither billed nor in its
 * transcript (marked in `progress`, for {@link exchangeFailed}). A session answers with one choice
 * (its `n` is 1): a chunk with more, or with a choice whose index is not 0, would let the host bill
 * a text other than the one an app reads at `choices[0]`, so it disputes the session; so does
 * answer text that is not a string.
 */
function parseChunk(session: Session, progress: ExchangeProgress, data: string, url: string): ChatCompletionChunk {
  let chunk: ChatCompletionChunk & { error?: unknown };
  try {
    chunk = JSON.parse(data) as typeof chunk;
  } catch (cause) {
    throw new SessionProtocolError("The host sent an SSE event that is not JSON.", { details: data.slice(0, 200), cause });
  }
  if (chunk.error !== undefined) {
    progress.answeredWithError = true;
    throw parseHostError({ status: 200, url, body: data });
  }
  const { choices } = chunk;
  if (choices !== undefined && (!Array.isArray(choices) || choices.length > 1 || (choices.length === 1 && (choices[0]?.index ?? 0) !== 0)))
    throw dispute(
      session,
      new SessionProtocolError("The host's chunk does not carry one choice with index 0; a session answers with one choice.", {
        details: data.slice(0, 200),
      }),
    );
  const content: unknown = choices?.[0]?.delta?.content;
  // Anything else would count as progress and be billed as its string form ("[object Object]").
  if (content !== undefined && content !== null && typeof content !== "string")
    throw dispute(session, new SessionProtocolError("The host's chunk carries answer text that is not a string.", { details: data.slice(0, 200) }));
  return chunk;
}
