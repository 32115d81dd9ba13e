/** HTTP headers of the session protocol (docs/design.md, "HTTP session protocol"). */
export const sessionHeaders = {
  jobId: "x-session-job-id",
  sequence: "x-session-sequence",
  signature: "x-session-signature",
  /** The transcript hash the request builds on (signed with it). */
  transcript: "x-session-transcript",
} as const;

/** The host's session endpoints (paths under the host's base URL). */
export const sessionEndpoints = {
  chat: "/v1/chat/completions",
  receipt: "/v1/session/receipt",
  close: "/v1/session/close",
  sync: "/v1/session/sync",
} as const;

/**
 * The endpoints whose requests the session key signs; the endpoint is part of the signature, so a
 * signed close or sync can never pass for a chat request. (A receipt carries its own signature.)
 */
export type SignedEndpoint = (typeof sessionEndpoints)["chat" | "close" | "sync"];

/** Machine-readable error codes a host answers with (JSON `error.code`). */
export const sessionErrorCodes = [
  "session_unknown",
  "session_not_active",
  "session_wrong_host",
  "session_terms_refused",
  "session_bad_signature",
  "session_replayed",
  "session_out_of_sync",
  "session_receipt_overdue",
  "session_deposit_exhausted",
  "session_receipt_mismatch",
  "model_not_served",
  "invalid_request",
] as const;

export type SessionErrorCode = (typeof sessionErrorCodes)[number];

/**
 * `error.reason` of a `session_not_active` answer while a close of the session is under way (from
 * this client or another: a retried close, a second tab), in any host process sharing the store.
 * The session is about to settle; the answer carries `Retry-After` (seconds). Older hosts send no
 * `reason`: a client then reads the answer as any other `session_not_active`.
 */
export const sessionClosingReason = "closing";

/** The `session` object a host adds to a chat completion (final JSON or last SSE chunk). */
export type SessionUsage = {
  jobId: string;
  promptTokens: number;
  completionTokens: number;
  cumulativeTokens: string;
  transcriptHash: `0x${string}`;
};

/** Body of `POST /v1/session/receipt`. */
export type ReceiptSubmission = {
  jobId: string;
  cumulativeTokens: string;
  transcriptHash: `0x${string}`;
  signature: `0x${string}`;
};

/**
 * One exchange the host keeps (one its newest receipt alone covers, or one after it), as `POST /v1/session/sync` returns it:
 * the client's own signed request (so the client can tell it asked for it, and where in the
 * transcript), what the host delivered, and the counts and transcript hash it billed.
 */
export type RecordedExchange = {
  sequence: string;
  /** The exact request body bytes, base64. */
  requestBody: string;
  /** The request's `X-Session-Signature`. */
  requestSignature: `0x${string}`;
  /** The transcript hash the request built on (its `X-Session-Transcript`). */
  previousTranscriptHash: `0x${string}`;
  /** The assistant text the host wrote to the client (for a broken-off stream, what it wrote before the client left). */
  responseText: string;
  promptTokens: number;
  completionTokens: number;
  cumulativeTokens: string;
  transcriptHash: `0x${string}`;
  /** The client left before the answer ended. */
  aborted: boolean;
};

/** Answer of `POST /v1/session/sync`: where the host stands, and what the client has not signed for. */
export type SyncResponse = {
  jobId: string;
  lastSequence: string;
  servedTokens: string;
  transcriptHash: `0x${string}`;
  /** The newest receipt the host holds (signed by the session key), or null. */
  receipt: ReceiptSubmission | null;
  /** The exchanges after that receipt, oldest first. */
  exchanges: RecordedExchange[];
};
