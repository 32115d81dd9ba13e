import { sessionClosingReason, sessionErrorCodes, type SessionErrorCode } from "@session-jobs/protocol";
import { BaseError } from "./base.ts";

/** What a host answered, for errors that come from its HTTP API. */
export type HostErrorParameters = {
  /** HTTP status. */
  status: number;
  /** The host's `error.message`. */
  hostMessage: string;
  /** The request URL. */
  url: string;
  /** The host's `error.reason`, if it gave one (e.g. `closing` for `session_not_active`). */
  reason?: string | undefined;
  /** The answer's `Retry-After` in ms (delta-seconds only), if it had one. */
  retryAfterMs?: number | undefined;
};

/**
 * A host refused a request with one of the protocol's error codes (docs/design.md,
 * "HTTP session protocol"). Each code has its own subclass; `code` is the machine-readable value.
 */
export class SessionHostError extends BaseError {
  override name = "SessionHostError";
  readonly code: SessionErrorCode;
  readonly status: number;
  readonly url: string;
  /** What the host said (`error.message`), e.g. "max_tokens must be at most 4096". */
  readonly hostMessage: string;
  /** The host's machine-readable `error.reason`, where it tells one case of a code from others (`closing`). */
  readonly reason: string | undefined;
  /** When the host said to try again (`Retry-After`, ms). */
  readonly retryAfterMs: number | undefined;

  constructor(code: SessionErrorCode, shortMessage: string, parameters: HostErrorParameters) {
    super(shortMessage, {
      details: parameters.hostMessage,
      metaMessages: [`Code: ${code}${parameters.reason ? ` (${parameters.reason})` : ""} (HTTP ${parameters.status})`, `URL: ${parameters.url}`],
    });
    this.code = code;
    this.status = parameters.status;
    this.url = parameters.url;
    this.hostMessage = parameters.hostMessage;
    this.reason = parameters.reason;
    this.retryAfterMs = parameters.retryAfterMs;
  }
}

export class SessionUnknownError extends SessionHostError {
  override name = "SessionUnknownError";
  constructor(parameters: HostErrorParameters) {
    super("session_unknown", "The host does not know this session job.", parameters);
  }
}

/**
 * The host serves the session no more: it ended on chain, or (`closing`, {@link SessionNotActiveError.closing})
 * a close of it is under way, about to settle.
 */
export class SessionNotActiveError extends SessionHostError {
  override name = "SessionNotActiveError";
  constructor(parameters: HostErrorParameters) {
    super(
      "session_not_active",
      parameters.reason === sessionClosingReason ? "A close of the session is under way." : "The session is no longer active on chain.",
      parameters,
    );
  }

  /** A close of the session (from this client or another) is under way in the host: it is about to settle. */
  get closing(): boolean {
    return this.reason === sessionClosingReason;
  }
}

export class SessionWrongHostError extends SessionHostError {
  override name = "SessionWrongHostError";
  constructor(parameters: HostErrorParameters) {
    super("session_wrong_host", "The session is assigned to another host.", parameters);
  }
}

export class SessionTermsRefusedError extends SessionHostError {
  override name = "SessionTermsRefusedError";
  constructor(parameters: HostErrorParameters) {
    super("session_terms_refused", "The host does not serve sessions on these terms (see its GET /v1/host policy).", parameters);
  }
}

export class SessionBadSignatureError extends SessionHostError {
  override name = "SessionBadSignatureError";
  constructor(parameters: HostErrorParameters) {
    super("session_bad_signature", "The host rejected the request signature: it is not from the session signer.", parameters);
  }
}

/**
 * The host has seen the request's sequence number: another copy of the session signed requests
 * (a second process, or an older saved copy used after a newer one). `syncSession` brings a
 * restored copy back in step with the host before it is used.
 */
export class SessionReplayedError extends SessionHostError {
  override name = "SessionReplayedError";
  constructor(parameters: HostErrorParameters) {
    super(
      "session_replayed",
      "The host has already seen this request sequence number: another copy of this session (a second process or an old saved copy) is in use; call syncSession before reusing a restored copy.",
      parameters,
    );
  }
}

export class SessionOutOfSyncError extends SessionHostError {
  override name = "SessionOutOfSyncError";
  constructor(parameters: HostErrorParameters) {
    super(
      "session_out_of_sync",
      "The request builds on a transcript the host says it has moved past; a client restored other than by deserializeSession must call syncSession first.",
      parameters,
    );
  }
}

export class SessionReceiptOverdueError extends SessionHostError {
  override name = "SessionReceiptOverdueError";
  constructor(parameters: HostErrorParameters) {
    super("session_receipt_overdue", "The host stopped serving: unsigned tokens would exceed one checkpoint interval.", parameters);
  }
}

export class SessionDepositExhaustedError extends SessionHostError {
  override name = "SessionDepositExhaustedError";
  constructor(parameters: HostErrorParameters) {
    super("session_deposit_exhausted", "The session deposit cannot pay for more tokens.", parameters);
  }
}

export class SessionReceiptMismatchError extends SessionHostError {
  override name = "SessionReceiptMismatchError";
  constructor(parameters: HostErrorParameters) {
    super("session_receipt_mismatch", "The host rejected the receipt: it does not match the host's records.", parameters);
  }
}

export class ModelNotServedError extends SessionHostError {
  override name = "ModelNotServedError";
  constructor(parameters: HostErrorParameters) {
    super("model_not_served", "The host does not serve the requested model.", parameters);
  }
}

export class InvalidRequestError extends SessionHostError {
  override name = "InvalidRequestError";
  constructor(parameters: HostErrorParameters) {
    super("invalid_request", "The host rejected the request as invalid.", parameters);
  }
}

const hostErrorClasses: Record<SessionErrorCode, new (parameters: HostErrorParameters) => SessionHostError> = {
  session_unknown: SessionUnknownError,
  session_not_active: SessionNotActiveError,
  session_wrong_host: SessionWrongHostError,
  session_terms_refused: SessionTermsRefusedError,
  session_bad_signature: SessionBadSignatureError,
  session_replayed: SessionReplayedError,
  session_out_of_sync: SessionOutOfSyncError,
  session_receipt_overdue: SessionReceiptOverdueError,
  session_deposit_exhausted: SessionDepositExhaustedError,
  session_receipt_mismatch: SessionReceiptMismatchError,
  model_not_served: ModelNotServedError,
  invalid_request: InvalidRequestError,
};

/** A host answered with an error this SDK has no code for, or with something that is not JSON. */
export class HostResponseError extends BaseError {
  readonly status: number;
  readonly url: string;
  readonly code: string | undefined;
  /** What the host said: its `error.message`, or the start of a body that is not JSON. */
  readonly hostMessage: string;
  override name = "HostResponseError";

  constructor(parameters: HostErrorParameters & { code?: string | undefined }) {
    super(`The host answered HTTP ${parameters.status}.`, {
      details: parameters.hostMessage,
      metaMessages: [...(parameters.code ? [`Code: ${parameters.code}`] : []), `URL: ${parameters.url}`],
    });
    this.status = parameters.status;
    this.url = parameters.url;
    this.code = parameters.code;
    this.hostMessage = parameters.hostMessage;
  }
}

/**
 * The host could not be reached, its connection broke, or it went silent for longer than the
 * request's idle timeout. `code` names the underlying failure (`ECONNREFUSED`, `ECONNRESET`, a TLS
 * code such as `ERR_SSL_WRONG_VERSION_NUMBER`, `ETIMEDOUT` for the idle timeout) and `cause` keeps
 * the original error, so apps and the CLI can say what went wrong.
 */
export class HostUnreachableError extends BaseError {
  readonly url: string;
  readonly code: string | undefined;
  override name = "HostUnreachableError";

  constructor(parameters: { url: string; cause: unknown }) {
    const code = failureCode(parameters.cause);
    super("The host did not answer.", {
      cause: parameters.cause,
      details: innermostMessage(parameters.cause),
      metaMessages: [...(code ? [`Code: ${code}`] : []), `URL: ${parameters.url}`],
    });
    this.url = parameters.url;
    this.code = code;
  }

  /**
   * Whether no connection to the host was ever made (refused, its name not resolved, no route to
   * it): nothing reached a host, so the request can be sent again elsewhere, and a host that
   * moved (`followHostUrl`) is the likely cause.
   */
  get neverConnected(): boolean {
    return this.code !== undefined && neverConnectedCodes.has(this.code);
  }
}

const neverConnectedCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * A failure the host may recover from, which says nothing of what it will answer next: the host
 * unreachable (down, restarting, silent past a timeout) or a server error (5xx: its chain or its
 * store unavailable for now). A refusal with a 4xx code is the host's answer, not such a fault.
 */
export function isPassingHostFault(error: unknown): boolean {
  if (error instanceof HostUnreachableError) return true;
  return (error instanceof SessionHostError || error instanceof HostResponseError) && error.status >= 500;
}

const invalidHostUrlHint = "give the host's base URL, such as http://127.0.0.1:8080 or https://host.example (the apiUrl it registered: getHostInfo)";

/**
 * A host URL the SDK cannot send to (`"not a url"`, `ftp://…`, a typo, credentials, a query): no request was sent.
 * Not a host that is down ({@link HostUnreachableError}): asking again cannot help.
 */
export class InvalidHostUrlError extends BaseError {
  override name = "InvalidHostUrlError";
  readonly url: string;
  /** What to do, in one line (the CLI prints it as its hint). */
  readonly hint = invalidHostUrlHint;

  constructor(parameters: { url: string; problem?: string | undefined }) {
    const problem = parameters.problem ?? "is not an http(s) URL without a user name or password";
    // Quoted (JSON), so that a URL with a line break or a control character stays one inert line.
    super(`The host URL ${JSON.stringify(String(parameters.url).slice(0, 200))} ${problem}.`, { metaMessages: [`Hint: ${invalidHostUrlHint}`] });
    this.url = parameters.url;
  }
}

/** The host sent no byte for `timeoutMs` (before its first byte, or in the middle of an answer). */
export class HostTimeoutError extends BaseError {
  override name = "HostTimeoutError";
  readonly code = "ETIMEDOUT";
  readonly timeoutMs: number;

  constructor(parameters: { timeoutMs: number }) {
    super(`The host sent nothing for ${parameters.timeoutMs} ms.`);
    this.timeoutMs = parameters.timeoutMs;
  }
}

/**
 * A host's answer is compressed in a coding the SDK does not decode (`content-encoding` other than
 * `gzip`, `deflate`, `br` or `identity`, or more than one of them): its bytes are refused rather
 * than read as the answer. The SDK asks for no compression; a proxy in front of the host chose it.
 */
export class HostContentEncodingError extends BaseError {
  override name = "HostContentEncodingError";
  readonly code = "ERR_CONTENT_ENCODING";
  readonly contentEncoding: string;

  constructor(parameters: { contentEncoding: string }) {
    super(`The host's answer is encoded as "${parameters.contentEncoding}", which the SDK does not decode.`, {
      metaMessages: ["The SDK decodes gzip, deflate and br; a proxy in front of the host should send one of them, alone, or the answer as it is."],
    });
    this.contentEncoding = parameters.contentEncoding;
  }
}

/**
 * A compressed answer that ended before its compressed data did, at a clean end of the HTTP
 * message (a proxy or a connection that cut it). node:http's decoder says so itself (zlib's
 * `Z_BUF_ERROR`, "unexpected end of file"); `fetch` decodes leniently and hands on what decoded
 * (undici and browsers alike), so there the SDK tells it by an answer that must be JSON and is
 * not. Its `code` is zlib's, so that the {@link HostUnreachableError} reads alike on both.
 */
export class HostAnswerCutShortError extends BaseError {
  override name = "HostAnswerCutShortError";
  readonly code = "Z_BUF_ERROR";
  readonly contentEncoding: string;

  constructor(parameters: { contentEncoding: string }) {
    super(`The host's ${parameters.contentEncoding} answer was cut short: what arrived does not decode to a whole answer.`);
    this.contentEncoding = parameters.contentEncoding;
  }
}

/** The first string `code` along an error's `cause` chain (fetch wraps a socket error in "fetch failed"). */
function failureCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Object && depth < 8; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
  }
  return undefined;
}

/** The message of the innermost error along a `cause` chain: the one that says what happened. */
function innermostMessage(error: unknown): string {
  let message = "";
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    message = current instanceof BaseError ? current.shortMessage : current.message;
  }
  return message;
}

/**
 * Turns a host's error body (`{ error: { message, type, code } }`) into the typed error for its
 * code; unknown codes and non-JSON bodies become {@link HostResponseError}.
 */
export function parseHostError(parameters: {
  status: number;
  url: string;
  body: string;
  retryAfter?: string | undefined;
}): SessionHostError | HostResponseError {
  const { status, url, body } = parameters;
  let code: string | undefined;
  let reason: string | undefined;
  let hostMessage = body.slice(0, 500);
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown; code?: unknown; reason?: unknown } };
    if (typeof parsed.error?.message === "string") hostMessage = parsed.error.message;
    if (typeof parsed.error?.code === "string") code = parsed.error.code;
    if (typeof parsed.error?.reason === "string") reason = parsed.error.reason.slice(0, 100);
  } catch {
    // Not JSON (a proxy's HTML page, say): keep the raw text as the message.
  }
  if (code !== undefined && (sessionErrorCodes as readonly string[]).includes(code)) {
    const ErrorClass = hostErrorClasses[code as SessionErrorCode];
    return new ErrorClass({ status, url, hostMessage, reason, retryAfterMs: retryAfterMs(parameters.retryAfter) });
  }
  return new HostResponseError({ status, url, hostMessage, code });
}

/** `Retry-After` as delta-seconds, in ms; an HTTP date (no host of ours sends one) or anything else is none. */
function retryAfterMs(header: string | undefined): number | undefined {
  return header !== undefined && /^\s*\d{1,9}\s*$/.test(header) ? Number(header) * 1000 : undefined;
}
