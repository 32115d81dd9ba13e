/** HTTP headers of the session protocol (docs/design.md, "HTTP session protocol"). */
export const sessionHeaders = {
  jobId: "x-session-job-id",
  sequence: "x-session-sequence",
  signature: "x-session-signature",
} as const;

/** Machine-readable error codes a host answers with (JSON `error.code`). */
export const sessionErrorCodes = [
  "session_unknown",
  "session_not_active",
  "session_wrong_host",
  "session_bad_signature",
  "session_replayed",
  "session_receipt_overdue",
  "session_deposit_exhausted",
  "session_receipt_mismatch",
  "model_not_served",
  "invalid_request",
] as const;

export type SessionErrorCode = (typeof sessionErrorCodes)[number];

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
