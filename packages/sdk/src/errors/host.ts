import { sessionErrorCodes, type SessionErrorCode } from "../protocol/headers.ts";
import { BaseError } from "./base.ts";

/** What a host answered, for errors that come from its HTTP API. */
export type HostErrorParameters = {
  /** HTTP status. */
  status: number;
  /** The host's `error.message`. */
  hostMessage: string;
  /** The request URL. */
  url: string;
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

  constructor(code: SessionErrorCode, shortMessage: string, parameters: HostErrorParameters) {
    super(shortMessage, {
      details: parameters.hostMessage,
      metaMessages: [`Code: ${code} (HTTP ${parameters.status})`, `URL: ${parameters.url}`],
    });
    this.code = code;
    this.status = parameters.status;
    this.url = parameters.url;
  }
}

export class SessionUnknownError extends SessionHostError {
  override name = "SessionUnknownError";
  constructor(parameters: HostErrorParameters) {
    super("session_unknown", "The host does not know this session job.", parameters);
  }
}

export class SessionNotActiveError extends SessionHostError {
  override name = "SessionNotActiveError";
  constructor(parameters: HostErrorParameters) {
    super("session_not_active", "The session is no longer active on chain.", parameters);
  }
}

export class SessionWrongHostError extends SessionHostError {
  override name = "SessionWrongHostError";
  constructor(parameters: HostErrorParameters) {
    super("session_wrong_host", "The session is assigned to another host.", parameters);
  }
}

export class SessionBadSignatureError extends SessionHostError {
  override name = "SessionBadSignatureError";
  constructor(parameters: HostErrorParameters) {
    super("session_bad_signature", "The host rejected the request signature: it is not from the session signer.", parameters);
  }
}

export class SessionReplayedError extends SessionHostError {
  override name = "SessionReplayedError";
  constructor(parameters: HostErrorParameters) {
    super("session_replayed", "The host has already seen this request sequence number.", parameters);
  }
}

export class SessionOutOfSyncError extends SessionHostError {
  override name = "SessionOutOfSyncError";
  constructor(parameters: HostErrorParameters) {
    super("session_out_of_sync", "The request builds on a transcript the host says it has moved past; a client restored other than by deserializeSession must call syncSession first.", parameters);
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
  override name = "HostResponseError";

  constructor(parameters: HostErrorParameters & { code?: string | undefined }) {
    super(`The host answered HTTP ${parameters.status}.`, {
      details: parameters.hostMessage,
      metaMessages: [...(parameters.code ? [`Code: ${parameters.code}`] : []), `URL: ${parameters.url}`],
    });
    this.status = parameters.status;
    this.url = parameters.url;
    this.code = parameters.code;
  }
}

/** The host could not be reached, or did not answer in time. */
export class HostUnreachableError extends BaseError {
  readonly url: string;
  override name = "HostUnreachableError";

  constructor(parameters: { url: string; cause: unknown }) {
    super("The host did not answer.", { cause: parameters.cause, metaMessages: [`URL: ${parameters.url}`] });
    this.url = parameters.url;
  }
}

/**
 * Turns a host's error body (`{ error: { message, type, code } }`) into the typed error for its
 * code; unknown codes and non-JSON bodies become {@link HostResponseError}.
 */
export function parseHostError(parameters: { status: number; url: string; body: string }): SessionHostError | HostResponseError {
  const { status, url, body } = parameters;
  let code: string | undefined;
  let hostMessage = body.slice(0, 500);
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown; code?: unknown } };
    if (typeof parsed.error?.message === "string") hostMessage = parsed.error.message;
    if (typeof parsed.error?.code === "string") code = parsed.error.code;
  } catch {
    // Not JSON (a proxy's HTML page, say): keep the raw text as the message.
  }
  if (code !== undefined && (sessionErrorCodes as readonly string[]).includes(code)) {
    const ErrorClass = hostErrorClasses[code as SessionErrorCode];
    return new ErrorClass({ status, url, hostMessage });
  }
  return new HostResponseError({ status, url, hostMessage, code });
}
