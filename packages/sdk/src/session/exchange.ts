import type { Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { HostResponseError, HostUnreachableError, parseHostError, SessionHostError } from "../errors/host.ts";
import { SessionDisputedError, SessionProtocolError, TokenCountMismatchError, TranscriptMismatchError } from "../errors/session.ts";
import { sessionHeaders, type ReceiptSubmission, type SessionUsage } from "../protocol/headers.ts";
import { signCheckpoint, signSessionRequest } from "../protocol/signatures.ts";
import { nextTranscriptHash } from "../protocol/transcript.ts";
import { checkTokenCounts } from "./countCheck.ts";
import { parseServerSentEvents } from "./sse.ts";
import type { CountCheckOptions, Session, SessionReceipt } from "./types.ts";

/** Transport options every action that talks to a host accepts. */
export type HostRequestOptions = {
  /** Aborts the request. An exchange aborted after the host began answering disputes the session. */
  signal?: AbortSignal | undefined;
  /** A `fetch` implementation; default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch | undefined;
};

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
};

const accounts = new WeakMap<Session, PrivateKeyAccount>();
/** The session key as a viem account. */
export function sessionAccount(session: Session): PrivateKeyAccount {
  let account = accounts.get(session);
  if (!account) {
    account = privateKeyToAccount(session.sessionKey);
    accounts.set(session, account);
  }
  return account;
}

const locks = new WeakMap<Session, Promise<void>>();
/**
 * Serialises exchanges of one session: sequence numbers, the transcript hash and cumulative
 * receipts all assume the host sees one exchange after another. Resolves with a release function.
 */
export async function acquireSessionLock(session: Session): Promise<() => void> {
  const previous = locks.get(session) ?? Promise.resolve();
  let release!: () => void;
  const current = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => current);
  locks.set(session, tail);
  await previous;
  return () => {
    release();
    if (locks.get(session) === tail) locks.delete(session);
  };
}

/** `hostUrl` + path, tolerating a trailing slash on the base URL. */
export function hostEndpoint(session: Pick<Session, "hostUrl">, path: string): string {
  return `${session.hostUrl.replace(/\/+$/, "")}${path}`;
}

/** Headers that authenticate one request body: job id, next sequence number, session-key signature. */
export async function signRequestHeaders(session: Session, body: Uint8Array<ArrayBuffer>): Promise<Record<string, string>> {
  session.sequence += 1n;
  const signature = await signSessionRequest(
    sessionAccount(session),
    { chainId: session.chainId, marketplace: session.marketplace },
    { jobId: session.jobId, sequence: session.sequence, body },
  );
  return {
    [sessionHeaders.jobId]: session.jobId.toString(),
    [sessionHeaders.sequence]: session.sequence.toString(),
    [sessionHeaders.signature]: signature,
  };
}

/** POSTs a signed JSON body to the host; a refusal becomes the typed error for its code. */
export async function postSigned(
  session: Session,
  parameters: HostRequestOptions & { url: string; body: Uint8Array<ArrayBuffer>; accept?: string; headers?: Record<string, string> | undefined },
): Promise<Response> {
  const { url, body, signal } = parameters;
  const headers = {
    ...parameters.headers,
    "content-type": "application/json",
    accept: parameters.accept ?? "application/json",
    ...(await signRequestHeaders(session, body)),
  };
  let response: Response;
  try {
    response = await (parameters.fetch ?? globalThis.fetch)(url, { method: "POST", headers, body, signal });
  } catch (cause) {
    if (signal?.aborted) throw cause;
    throw new HostUnreachableError({ url, cause });
  }
  if (!response.ok) throw parseHostError({ status: response.status, url, body: await response.text() });
  return response;
}

/** Refuses to go on with a disputed session. */
export function assertUndisputed(session: Session): void {
  if (session.dispute !== undefined) throw new SessionDisputedError({ jobId: session.jobId, reason: session.dispute });
}

/**
 * Sends the newest receipt to the host if it has not acknowledged it yet. An unreachable host
 * leaves it pending (returns false); any refusal is thrown.
 */
export async function deliverReceipt(
  session: Session,
  options: HostRequestOptions & { headers?: Record<string, string> | undefined } = {},
): Promise<boolean> {
  const receipt = session.receipt;
  if (!receipt || receipt.delivered) return true;
  const submission: ReceiptSubmission = {
    jobId: session.jobId.toString(),
    cumulativeTokens: receipt.cumulativeTokens.toString(),
    transcriptHash: receipt.transcriptHash,
    signature: receipt.signature,
  };
  try {
    await postSigned(session, {
      signal: options.signal,
      fetch: options.fetch,
      headers: options.headers,
      url: hostEndpoint(session, "/v1/session/receipt"),
      body: new TextEncoder().encode(JSON.stringify(submission)),
    });
  } catch (error) {
    if (error instanceof HostUnreachableError) return false;
    throw error;
  }
  receipt.delivered = true;
  return true;
}

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
  const signature = await signCheckpoint(
    sessionAccount(session),
    { chainId: session.chainId, marketplace: session.marketplace },
    { jobId: session.jobId, cumulativeTokens, transcriptHash },
  );
  session.transcriptHash = transcriptHash;
  session.cumulativeTokens = cumulativeTokens;
  session.receipt = { cumulativeTokens, transcriptHash, signature, delivered: false };
  await deliverReceipt(session, parameters);
  return {
    text: responseText,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    cumulativeTokens,
    transcriptHash,
    receipt: session.receipt,
  };
}

function dispute<T extends Error>(session: Session, error: T): T {
  session.dispute = "shortMessage" in error && typeof error.shortMessage === "string" ? error.shortMessage : error.message;
  return error;
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
 * Sends a chat request once the session may go on: undisputed, and the host holding the newest
 * receipt. The body is encoded once; those bytes are signed, sent and later hashed.
 */
async function sendChatRequest(session: Session, parameters: ExchangeParameters, accept: string) {
  assertUndisputed(session);
  await deliverReceipt(session, parameters);
  const requestBytes = encodeRequest(parameters.request);
  const url = parameters.url ?? hostEndpoint(session, "/v1/chat/completions");
  const response = await postSigned(session, { ...parameters, url, body: requestBytes, accept });
  return { requestBytes, url, response };
}

/** Runs one non-streamed chat exchange: signed request, JSON answer, checked and receipted. */
export async function jsonExchange(
  session: Session,
  parameters: ExchangeParameters,
): Promise<ExchangeResult & { response: Record<string, unknown> }> {
  const release = await acquireSessionLock(session);
  try {
    const { requestBytes, response } = await sendChatRequest(session, parameters, "application/json");
    let completion: { choices?: { message?: { content?: string | null } }[]; session?: SessionUsage };
    try {
      completion = (await response.json()) as typeof completion;
    } catch (cause) {
      throw dispute(session, new SessionProtocolError("The host's chat completion is not JSON.", { cause }));
    }
    const responseText = completion.choices?.[0]?.message?.content ?? "";
    const result = await acceptExchange(session, {
      ...parameters,
      requestBytes,
      responseText,
      usage: completion.session,
    });
    return { ...result, response: completion as Record<string, unknown> };
  } finally {
    release();
  }
}

/**
 * Runs one streamed chat exchange, yielding the host's SSE chunks as they arrive and returning
 * the accepted exchange once the stream ends. If the consumer stops early, the rest of the stream
 * is still read and receipted, so the client's transcript stays in step with the host's.
 */
export async function* streamExchange(
  session: Session,
  parameters: ExchangeParameters,
): AsyncGenerator<ChatCompletionChunk, ExchangeResult, undefined> {
  const release = await acquireSessionLock(session);
  try {
    const { requestBytes, url, response } = await sendChatRequest(session, parameters, "text/event-stream");
    if (!response.body) throw dispute(session, new SessionProtocolError("The host's streamed answer has no body."));

    const events = parseServerSentEvents(response.body);
    let text = "";
    let usage: SessionUsage | undefined;
    let ended = false;
    const nextChunk = async (): Promise<ChatCompletionChunk | undefined> => {
      const next = await events.next();
      if (next.done || next.value.data.trim() === "[DONE]") {
        ended = true;
        await events.return(undefined);
        return undefined;
      }
      const chunk = parseChunk(next.value.data, url);
      text += chunk.choices?.find((choice) => (choice.index ?? 0) === 0)?.delta?.content ?? "";
      if (chunk.session) usage = chunk.session;
      return chunk;
    };
    const accept = () => acceptExchange(session, { ...parameters, requestBytes, request: parameters.request, responseText: text, usage });

    let consumerLeft = true;
    try {
      for (let chunk = await nextChunk(); chunk; chunk = await nextChunk()) yield chunk;
      consumerLeft = false;
    } catch (error) {
      consumerLeft = false;
      // A host's error event ends an exchange that is neither billed nor in its transcript. Anything
      // else (a broken connection, an abort) leaves unknown what the host counted.
      const hostFailed = error instanceof SessionHostError || error instanceof HostResponseError;
      if (!hostFailed && session.dispute === undefined)
        dispute(session, new SessionProtocolError("The stream broke before the host's usage arrived."));
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
