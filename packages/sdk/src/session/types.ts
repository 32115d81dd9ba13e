import type { Address, Hex } from "viem";

/** Bounds of the client-side count check (docs/design.md, "Client-side count check"). */
export type CountCheckOptions = {
  /** Prompt tokens a chat template may add per message (role markers, separators). Default 32. */
  promptOverheadPerMessage?: number;
  /** Prompt tokens a chat template may add once per request (the assistant turn). Default 32. */
  promptOverheadPerRequest?: number;
  /**
   * The most UTF-8 bytes an answer may hold per completion token billed for it (plus one): an answer
   * of more bytes than `(completionTokens + 1) × maxAnswerBytesPerToken` is refused. Default 256,
   * twice the longest token of cl100k_base and o200k_base (a run of 128 spaces).
   */
  maxAnswerBytesPerToken?: number;
};

/** One of the session's accepted answers: the keccak256 of its text and the completion tokens billed for it. */
export type BilledAnswer = { textHash: Hex; completionTokens: number };

/** What a chat request's answer had delivered when it broke off: the request's sequence number and the text received. */
export type LiveAnswer = { sequence: bigint; text: string };

/** The newest receipt the session key signed: cumulative, so it supersedes every earlier one. */
export type SessionReceipt = {
  cumulativeTokens: bigint;
  transcriptHash: Hex;
  /** EIP-712 `Checkpoint` signature by the session key. */
  signature: Hex;
  /** Whether the host acknowledged it (`200 { stored: true }`); undelivered receipts are resent. */
  delivered: boolean;
};

/**
 * Everything a client needs to go on with a session: plain data, so an app can persist it
 * ({@link serializeSession}) and resume after a restart ({@link deserializeSession}).
 * Actions update it in place. It holds the session key: store it like a secret, since that key
 * can sign receipts up to the deposit.
 */
export type Session = {
  chainId: number;
  /** The `JobMarketplaceWithModels` contract: the EIP-712 `verifyingContract`. */
  marketplace: Address;
  jobId: bigint;
  /** Block of the `createSession` transaction: where to start looking for the session's events. */
  openedAtBlock: bigint;
  host: Address;
  /** Base URL of the host's API, without `/v1`. */
  hostUrl: string;
  /** Private key of the session signer registered in `createSession`. */
  sessionKey: Hex;
  /** Payment asset: the zero address for ETH. */
  token: Address;
  deposit: bigint;
  pricePerToken: bigint;
  proofInterval: bigint;
  modelId: Hex;
  /** The `model` field sent in chat requests when the caller gives none (the name the host serves it under). */
  model?: string | undefined;
  /** The last `X-Session-Sequence` used; the next request uses one more. */
  sequence: bigint;
  /** Transcript hash after the last exchange the client accepted. */
  transcriptHash: Hex;
  /** Tokens covered by the newest receipt. */
  cumulativeTokens: bigint;
  receipt?: SessionReceipt | undefined;
  /**
   * Set while the client may have missed the end of an exchange (a request whose answer broke off
   * or never arrived): the next request first asks the host what it recorded (`syncSession`).
   */
  resync?: boolean | undefined;
  /**
   * Set by `deserializeSession` (never serialized): saved state may be older than the host's, so
   * the next request syncs first, as with `resync`.
   */
  restored?: boolean | undefined;
  /**
   * Why the exchange awaiting a sync broke off: the client stopped it (an abort, leaving a stream,
   * `closeSession`) after some of its answer text arrived (`client`) or before any did
   * (`clientBeforeText`), or the connection did (it broke, or the host went silent past the idle
   * timeout). A `connection` break's recovered exchanges count against the host, and so do those of
   * a `clientBeforeText` stop that bill completion tokens (docs/design.md, "Answers that never
   * arrived live").
   */
  brokenOff?: "client" | "clientBeforeText" | "connection" | undefined;
  /**
   * Exchanges in a row the client signed for only because a sync recovered them after the
   * connection broke off (their answer never arrived live); a live answer resets it. A sync that
   * would take it past {@link maxUndeliveredInARow} disputes the session instead of signing.
   */
  undeliveredInARow?: number | undefined;
  /**
   * The answer text the client received live of each chat request signed on the current transcript
   * hash whose stream broke off after some text arrived: the host's record of such a request, in
   * any later sync, must begin with its text, or the sync disputes the session (docs/design.md,
   * "Resynchronisation"). Kept until the transcript moves on (an accepted or recovered exchange),
   * since any of those requests may still be recorded; saved with the session, so a restart keeps
   * the check. Each entry holds no more than the client received, and a sync that leaves more than
   * `maxUndeliveredInARow` of them (answers the host broke off after text and did not record)
   * disputes the session (`UnrecordedAnswersError`), so at most one more than that are kept.
   */
  liveAnswers?: LiveAnswer[] | undefined;
  /**
   * The newest accepted answers (at most `maxBilledAnswers`, 256) and the completion tokens billed
   * for each: sent back as an assistant message, such an answer counts in the prompt bound at
   * those tokens rather than at its bytes (docs/design.md, "Client-side count check"). Saved with
   * the session; a session saved without it counts its earlier answers at their bytes.
   */
  billedAnswers?: BilledAnswer[] | undefined;
  /**
   * Sequence numbers of the chat requests signed on the current transcript hash whose answer the
   * host ended with an error event: by its protocol neither billed nor recorded, so a later sync
   * that presents one as recorded disputes the session (docs/design.md, "Answers the host said
   * failed"). Kept until the transcript moves on, saved with the session; at most
   * `maxFailedAnswersKept` (a further failure is handled as a broken-off answer).
   */
  failedAnswers?: bigint[] | undefined;
  /** Set once the client refused to sign for an exchange; the session can then only be closed. */
  dispute?: string | undefined;
  countCheck?: CountCheckOptions | undefined;
};
