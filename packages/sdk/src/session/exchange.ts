import type { Hex } from "viem";
import { HostResponseError, HostUnreachableError, parseHostError, SessionHostError } from "../errors/host.ts";
import { SessionProtocolError, TokenCountMismatchError, TranscriptMismatchError } from "../errors/session.ts";
import { sessionEndpoints, type SessionUsage } from "../protocol/headers.ts";
import { signCheckpoint } from "../protocol/signatures.ts";
import { nextTranscriptHash } from "../protocol/transcript.ts";
import { checkTokenCounts } from "./countCheck.ts";
import { parseServerSentEvents } from "./sse.ts";
import type { RecoveredExchange } from "./reconcile.ts";
import { syncWithHost } from "./sync.ts";
import {
  acquireSessionLock,
  assertUndisputed,
  deliverReceipt,
  dispute,
  hostEndpoint,
  maxAnswerBytes,
  needsSync,
  postSigned,
  readText,
  sessionAccount,
  sessionDomain,
  type HostRequestOptions,
} from "./transport.ts";
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
  /** The receipt signed for this exchange (`delivered: false` if the host could not be reached; it is resent first thing next time). */
  receipt: SessionReceipt;
  /**
   * Earlier exchanges this client missed the end of and recovered from the host before sending
   * this request (a broken-off stream, a resume from saved state); now covered by `receipt` too.
   */
  recovered: RecoveredExchange[];
};

/**
 * Checks the host's claim for one exchange, signs the cumulative receipt and delivers it.
 * A claim that fails the count check or the transcript comparison gets no receipt and disputes
 * the session.
 */
export async function acceptExchange(
  session: Session,
  parameters: HostRequestOptions & {
    requestBytes: Uint8Array<ArrayBuffer>;
    request: ChatRequestBody;
    responseText: string;
    usage: SessionUsage | undefined;
    countCheck?: CountCheckOptions | undefined;
    recovered: RecoveredExchange[];
  },
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
  });
  if (violations.length > 0) throw dispute(session, new TokenCountMismatchError({ violations }));

  const transcriptHash = nextTranscriptHash(session.transcriptHash, {
    requestBody: requestBytes,
    responseText,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
  });
  if (transcriptHash !== usage.transcriptHash)
    throw dispute(session, new TranscriptMismatchError({ expected: transcriptHash, claimed: usage.transcriptHash }));

  const cumulativeTokens = BigInt(usage.cumulativeTokens);
  const signature = await signCheckpoint(sessionAccount(session), sessionDomain(session), { jobId: session.jobId, cumulativeTokens, transcriptHash });
  session.transcriptHash = transcriptHash;
  session.cumulativeTokens = cumulativeTokens;
  session.receipt = { cumulativeTokens, transcriptHash, signature, delivered: false };
  session.resync = false;
  await deliverReceipt(session, parameters);
  return {
    text: responseText,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    cumulativeTokens,
    transcriptHash,
    receipt: session.receipt,
    recovered: parameters.recovered,
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
};

/**
 * Sends a chat request once the session may go on: undisputed, in step with the host (a session
 * that may have missed the end of an exchange, or was restored from saved state, syncs first),
 * and the host holding the newest receipt. The body is encoded once; those bytes are signed, sent
 * and later hashed.
 *
 * After that sync the client knows everything the host recorded, so a host that still refuses the
 * request as replayed or out of sync is not believed: the error is thrown, nothing is synced or
 * signed on its say-so (else it could refuse a request, then bill it as served, on every call).
 */
async function sendChatRequest(session: Session, parameters: ExchangeParameters, accept: string) {
  assertUndisputed(session);
  let recovered: RecoveredExchange[] = [];
  if (needsSync(session)) ({ recovered } = await syncWithHost(session, parameters));
  else await deliverReceipt(session, parameters);
  const requestBytes = encodeRequest(parameters.request);
  const url = parameters.url ?? hostEndpoint(session, sessionEndpoints.chat);
  const response = await postChatRequest(session, { ...parameters, endpoint: sessionEndpoints.chat, url, body: requestBytes, accept });
  return { requestBytes, url, response, recovered };
}

/**
 * POSTs a chat request. Until its answer is accepted the client cannot know what the host
 * recorded, so the session is marked for a sync; a refusal (the host changed nothing) clears it.
 */
async function postChatRequest(session: Session, parameters: Parameters<typeof postSigned>[1]): Promise<Response> {
  session.resync = true;
  try {
    return await postSigned(session, parameters);
  } catch (error) {
    if (error instanceof SessionHostError || error instanceof HostResponseError) session.resync = false;
    throw error;
  }
}

/** Runs one non-streamed chat exchange: signed request, JSON answer, checked and receipted. */
export async function jsonExchange(
  session: Session,
  parameters: ExchangeParameters,
): Promise<ExchangeResult & { response: Record<string, unknown> }> {
  const release = await acquireSessionLock(session);
  try {
    const { requestBytes, url, response, recovered } = await sendChatRequest(session, parameters, "application/json");
    // A connection that breaks during the answer is an unreachable host; the next request recovers the answer.
    const body = await readText(response, url);
    let completion: { choices?: { message?: { content?: string | null } }[]; session?: SessionUsage };
    try {
      completion = JSON.parse(body) as typeof completion;
    } catch (cause) {
      throw dispute(session, new SessionProtocolError("The host's chat completion is not JSON.", { details: body.slice(0, 200), cause }));
    }
    const responseText = completion.choices?.[0]?.message?.content ?? "";
    const result = await acceptExchange(session, {
      ...parameters,
      requestBytes,
      responseText,
      usage: completion.session,
      recovered,
    });
    return { ...result, response: completion as Record<string, unknown> };
  } finally {
    release();
  }
}

/**
 * Runs one streamed chat exchange, yielding the host's SSE chunks as they arrive and returning
 * the accepted exchange once the stream ends. If the consumer stops early, the rest of the stream
 * is still read and receipted, so the client's transcript stays in step with the host's. If the
 * stream breaks (an abort, a lost connection), the session stays marked for a sync: the next
 * request recovers from the host what it delivered and signs for it after the usual checks.
 */
export async function* streamExchange(
  session: Session,
  parameters: ExchangeParameters,
): AsyncGenerator<ChatCompletionChunk, ExchangeResult, undefined> {
  const release = await acquireSessionLock(session);
  try {
    const { requestBytes, url, response, recovered } = await sendChatRequest(session, parameters, "text/event-stream");
    if (!response.body) throw dispute(session, new SessionProtocolError("The host's streamed answer has no body."));

    const events = parseServerSentEvents(response.body);
    let text = "";
    let usage: SessionUsage | undefined;
    let ended = false;
    let done = false;
    const nextChunk = async (): Promise<ChatCompletionChunk | undefined> => {
      let next: IteratorResult<{ data: string }>;
      try {
        next = await events.next();
      } catch (cause) {
        // The connection broke mid-answer (or the caller aborted): the next request recovers the answer.
        if (parameters.signal?.aborted) throw cause;
        throw new HostUnreachableError({ url, cause });
      }
      if (next.done || next.value.data.trim() === "[DONE]") {
        ended = true;
        done = !next.done;
        await events.return(undefined);
        return undefined;
      }
      const chunk = parseChunk(next.value.data, url);
      text += chunk.choices?.find((choice) => (choice.index ?? 0) === 0)?.delta?.content ?? "";
      if (text.length > maxAnswerBytes) throw dispute(session, new SessionProtocolError(`The host's streamed answer is longer than ${maxAnswerBytes} characters.`));
      if (chunk.session) usage = chunk.session;
      return chunk;
    };
    const accept = () => {
      // A stream cut off before `[DONE]` without usage is a broken connection, not a host's claim.
      if (!usage && !done) throw new HostUnreachableError({ url, cause: new Error("the stream ended before the host's usage arrived; the next request recovers the answer") });
      return acceptExchange(session, { ...parameters, requestBytes, request: parameters.request, responseText: text, usage, recovered });
    };

    let consumerLeft = true;
    try {
      for (let chunk = await nextChunk(); chunk; chunk = await nextChunk()) yield chunk;
      consumerLeft = false;
    } catch (error) {
      consumerLeft = false;
      // A host's error event ends an exchange that is neither billed nor in its transcript. Anything
      // else (a broken connection, an abort) leaves the session marked for a sync.
      if (error instanceof SessionHostError || error instanceof HostResponseError) session.resync = false;
      throw error;
    } finally {
      if (consumerLeft) {
        while (!ended) await nextChunk();
        await accept();
      }
    }
    return await accept();
  } finally {
    release();
  }
}

function parseChunk(data: string, url: string): ChatCompletionChunk {
  let chunk: ChatCompletionChunk & { error?: unknown };
  try {
    chunk = JSON.parse(data) as typeof chunk;
  } catch (cause) {
    throw new SessionProtocolError("The host sent an SSE event that is not JSON.", { details: data.slice(0, 200), cause });
  }
  if (chunk.error !== undefined) throw parseHostError({ status: 200, url, body: data });
  return chunk;
}
