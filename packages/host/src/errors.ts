import type { SessionErrorCode } from "@session-jobs/protocol";

/** Error codes the host answers with beyond the protocol's own (docs/design.md). */
export type HostErrorCode =
  | SessionErrorCode
  | "not_found"
  | "method_not_allowed"
  | "chain_unavailable"
  | "backend_error"
  | "not_ready"
  | "too_many_connections"
  | "storage_unavailable"
  | "internal_error";

const statusByCode: Record<HostErrorCode, number> = {
  invalid_request: 400,
  session_bad_signature: 401,
  session_receipt_overdue: 402,
  session_deposit_exhausted: 402,
  session_wrong_host: 403,
  session_terms_refused: 403,
  session_unknown: 404,
  model_not_served: 404,
  not_found: 404,
  method_not_allowed: 405,
  session_not_active: 409,
  session_replayed: 409,
  session_out_of_sync: 409,
  session_receipt_mismatch: 409,
  internal_error: 500,
  backend_error: 502,
  chain_unavailable: 503,
  not_ready: 503,
  too_many_connections: 503,
  storage_unavailable: 503,
};

/** What a refusal may add to its code: a machine-readable `reason` and when to try again. */
export type HostErrorDetail = {
  /** `error.reason`, telling one case of a code from the others (e.g. `closing` for `session_not_active`). */
  reason?: string;
  /** Sent as `Retry-After` (seconds): the refusal is expected to end by itself. */
  retryAfterSeconds?: number;
};

/**
 * An error a client caused or may retry, answered as
 * `{ "error": { "message", "type", "code", "reason"? } }` with the status its code maps to.
 */
export class HostError extends Error {
  override readonly name = "HostError";
  readonly status: number;
  readonly reason: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  constructor(
    readonly code: HostErrorCode,
    message: string,
    options: HostErrorDetail & { status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = options.status ?? statusByCode[code];
    this.reason = options.reason;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toJSON() {
    const type = this.status >= 500 ? "server_error" : "invalid_request_error";
    return { error: { message: this.message, type, code: this.code, ...(this.reason !== undefined && { reason: this.reason }) } };
  }

  /** The answer's headers beyond its content type. */
  headers(): Record<string, string> {
    return {
      ...(this.status === 405 && { allow: "GET, POST" }),
      ...(this.retryAfterSeconds !== undefined && { "retry-after": String(this.retryAfterSeconds) }),
    };
  }
}

/** A `storage_unavailable` refusal that keeps its reason apart, so a caller adding context says "storage unavailable" once. */
export class StorageUnavailableError extends HostError {
  constructor(
    readonly why: string,
    cause?: unknown,
  ) {
    super("storage_unavailable", `storage unavailable: ${why}; retry later`, { cause });
  }
}

/** The store cannot be used now but may be shortly (PostgreSQL restarting, a lock connection being re-made): `503`, "retry later". */
export function storageUnavailable(why: string, cause?: unknown): StorageUnavailableError {
  return new StorageUnavailableError(why, cause);
}

/** An exchange that would be recorded on a transcript the session has moved past: another process served the session meanwhile. */
export function servedElsewhere(jobId: bigint): HostError {
  return new HostError("session_out_of_sync", `session ${jobId} was served elsewhere while this answer ran; POST /v1/session/sync`);
}

/** The bytes of a transaction still on its way, or mined, were to be recorded again: a bug, never sent twice. */
export function recordedAlready(txHash: string): Error {
  return new Error(`transaction ${txHash} is recorded already and not dropped`);
}

/** Thrown when the node's configuration is unusable; lists every problem found. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly issues: string[]) {
    super(`invalid host configuration:\n${issues.map((issue) => `  - ${issue}`).join("\n")}`);
  }
}

/** Another process holds what this node needs to itself (its database, or its key on this machine). */
export class HostLockError extends Error {
  override readonly name = "HostLockError";
  readonly hint = "stop the other host process first, or give this one its own key and dbPath";
}

/**
 * The store belongs to another deployment: another chain, contract or host key, or the same ones on
 * a chain since reset (another genesis block). Nothing is deleted; `hint` says what to do.
 */
export class StoreDeploymentError extends Error {
  override readonly name = "StoreDeploymentError";
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/**
 * The PostgreSQL store could not be opened at start (unreachable, refused, no TLS, no rights): the
 * driver's error as `cause`, and the store's URL without its password in `store`.
 */
export class StoreOpenError extends Error {
  override readonly name = "StoreOpenError";
  constructor(
    readonly store: string,
    override readonly cause: Error,
  ) {
    // A refused connection to a name with several addresses is an AggregateError without a message.
    super(`cannot open the PostgreSQL store ${store}: ${cause.message.split("\n")[0] || (cause as NodeJS.ErrnoException).code || cause.name}`, { cause });
  }
}
