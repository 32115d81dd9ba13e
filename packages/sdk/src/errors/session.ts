import type { Hex } from "viem";
import type { RecoveredExchange } from "../session/reconcile.ts";
import { BaseError } from "./base.ts";

/** One bound of the client-side count check that a host's claim broke. */
export type TokenCountViolation = {
  field: "promptTokens" | "completionTokens" | "cumulativeTokens";
  claimed: bigint;
  /**
   * The most the client accepts (for `cumulativeTokens`: the exact value expected; for
   * `completionTokens` too few for the answer's bytes: the fewest).
   */
  limit: bigint;
  reason: string;
};

/**
 * The host claimed more tokens than the client can account for, or an answer far larger than the
 * tokens billed for it (docs/design.md, "Client-side count check"). No receipt was signed for the
 * exchange.
 */
export class TokenCountMismatchError extends BaseError {
  override name = "TokenCountMismatchError";
  readonly violations: readonly TokenCountViolation[];

  constructor(parameters: { violations: readonly TokenCountViolation[] }) {
    super("The host's token counts do not fit what was delivered; no receipt was signed.", {
      metaMessages: parameters.violations.map(
        (violation) => `${violation.field}: claimed ${violation.claimed}, limit ${violation.limit} (${violation.reason})`,
      ),
    });
    this.violations = parameters.violations;
  }
}

/** The host's transcript hash differs from the one the client computed; no receipt was signed. */
export class TranscriptMismatchError extends BaseError {
  override name = "TranscriptMismatchError";
  readonly expected: Hex;
  readonly claimed: Hex;

  constructor(parameters: { expected: Hex; claimed: Hex }) {
    super("The host's transcript hash differs from the client's; no receipt was signed.", {
      metaMessages: [`Client: ${parameters.expected}`, `Host:   ${parameters.claimed}`],
    });
    this.expected = parameters.expected;
    this.claimed = parameters.claimed;
  }
}

/**
 * The session saw an exchange the client refused to sign for. Receipts are cumulative, so every
 * later receipt would have to cover the refused tokens: the session can only be closed.
 */
export class SessionDisputedError extends BaseError {
  override name = "SessionDisputedError";
  readonly jobId: bigint;

  constructor(parameters: { jobId: bigint; reason: string }) {
    super(`Session ${parameters.jobId} has a refused exchange; close it and open a new one.`, {
      details: parameters.reason,
    });
    this.jobId = parameters.jobId;
  }
}

/** The host's answer does not follow the session protocol (missing `session` object, wrong job). */
export class SessionProtocolError extends BaseError {
  override name = "SessionProtocolError";
  constructor(shortMessage: string, parameters: { details?: string; cause?: unknown } = {}) {
    super(shortMessage, parameters);
  }
}

/**
 * The host's records do not lead from the client's newest receipt to where the host says the
 * session stands: the host lost exchanges it served (a store rolled back to an older copy, a
 * restored backup) or lies. Nothing more can be served in this session; closing it settles what
 * the host proved on chain.
 */
export class HostRecordsGapError extends SessionProtocolError {
  override name = "HostRecordsGapError";
  /** The tokens the client's own receipts and the host's records reach. */
  readonly clientTokens: bigint;
  /** The tokens the host says the session stands at. */
  readonly hostTokens: bigint;
  constructor(parameters: { client: { cumulativeTokens: bigint; transcriptHash: string }; host: { cumulativeTokens: bigint; transcriptHash: string } }) {
    const { client, host } = parameters;
    super("The host's records do not lead from the client's last receipt to where the host says the session stands.", {
      details: `client reaches ${client.cumulativeTokens} tokens, ${client.transcriptHash}; host stands at ${host.cumulativeTokens}, ${host.transcriptHash}`,
    });
    this.clientTokens = client.cumulativeTokens;
    this.hostTokens = host.cumulativeTokens;
  }
}

/** `closeSession` cancelled this request: a session being closed sends nothing more to its host. */
export class SessionClosingError extends BaseError {
  override name = "SessionClosingError";
  constructor(parameters: { jobId: bigint }) {
    super(`Session ${parameters.jobId} is being closed; its request in flight was cancelled.`);
  }
}

/** The host sent more bytes than any honest answer holds; the SDK stopped reading and signs nothing for it. */
export class HostAnswerTooLargeError extends SessionProtocolError {
  override name = "HostAnswerTooLargeError";
  readonly limit: number;
  constructor(parameters: { limit: number }) {
    super(`The host's answer is larger than ${parameters.limit} bytes.`);
    this.limit = parameters.limit;
  }
}

/**
 * The host billed more answers in a row that never reached the client live (its connection broke
 * off each time) than the SDK signs for from a sync alone (docs/design.md, "Answers that never
 * arrived live"). Nothing was signed for `exchanges`; their text is here so the app can show it.
 * The session is disputed: close it and open one with another host.
 */
export class UndeliveredAnswersError extends BaseError {
  override name = "UndeliveredAnswersError";
  readonly jobId: bigint;
  readonly exchanges: readonly RecoveredExchange[];

  constructor(parameters: { jobId: bigint; exchanges: readonly RecoveredExchange[]; inARow: number }) {
    super(`The host's last ${parameters.inARow} answers never arrived live; session ${parameters.jobId} signs no more. Close it and pick another host.`, {
      metaMessages: [
        `Unsigned recovered tokens: ${parameters.exchanges.reduce((sum, exchange) => sum + exchange.promptTokens + exchange.completionTokens, 0)}`,
      ],
    });
    this.jobId = parameters.jobId;
    this.exchanges = parameters.exchanges;
  }
}

/**
 * The host broke off more answers in a row after some of their text arrived, and recorded none of
 * them, than the SDK keeps the live text of (docs/design.md, "Answers that never arrived live").
 * The host was paid nothing for them; the SDK stops here so that what it keeps to check the host's
 * later records (`session.liveAnswers`) stays bounded. The session is disputed: close it and open
 * one with another host.
 */
export class UnrecordedAnswersError extends BaseError {
  override name = "UnrecordedAnswersError";
  readonly jobId: bigint;
  readonly inARow: number;

  constructor(parameters: { jobId: bigint; inARow: number }) {
    super(
      `The host broke off its last ${parameters.inARow} answers after sending text and recorded none of them; session ${parameters.jobId} signs no more. Close it and pick another host.`,
    );
    this.jobId = parameters.jobId;
    this.inARow = parameters.inARow;
  }
}

const closeInProgressHint =
  "the close under way settles by itself (getSettlement or watchSettlement show it); call closeSession again later: a close that failed frees the session at once, one whose host process died when its lease ends; a host that keeps answering so and never settles: closeSession with force: true (CLI: client close --force) settles as the depositor, paying the host only what it has proven";

/**
 * `closeSession` found a close of the session already under way (a retried close after a timeout, a
 * second tab, another device: the host answered `session_not_active` with reason `closing`) and
 * waited for it, but the session did not settle within the close's `hostTimeoutMs`. The SDK sent
 * nothing to the chain: settling as the depositor now could race the close under way and pay the
 * host less than the user signed for. `closeSession` with `force: true` takes that trade instead.
 */
export class SessionCloseInProgressError extends BaseError {
  override name = "SessionCloseInProgressError";
  readonly jobId: bigint;
  readonly waitedMs: number;
  /** What to do, in one line (the CLI prints it as its hint). */
  readonly hint = closeInProgressHint;

  constructor(parameters: { jobId: bigint; waitedMs: number; cause?: unknown }) {
    super(`Another close of session ${parameters.jobId} is under way and did not settle within ${parameters.waitedMs} ms.`, {
      cause: parameters.cause,
      metaMessages: [`Hint: ${closeInProgressHint}`],
    });
    this.jobId = parameters.jobId;
    this.waitedMs = parameters.waitedMs;
  }
}

/**
 * `createSessionFetch` was handed a request for somewhere other than the session's host (the
 * `openai` client without `baseURL` goes to api.openai.com): nothing was signed or sent, so
 * neither the prompt nor a request signed by the session key leaves for a third party.
 */
export class SessionFetchUrlError extends BaseError {
  override name = "SessionFetchUrlError";
  readonly url: string;
  /** The base URL the client must be given: the session's host URL + `/v1`. */
  readonly baseUrl: string;

  constructor(parameters: { url: string; baseUrl: string }) {
    super(`The request goes to ${parameters.url}, not to the session's host: the client's baseURL must be ${parameters.baseUrl}.`);
    this.url = parameters.url;
    this.baseUrl = parameters.baseUrl;
  }
}

/** A chat's parameters hold a value the host does not take (`maxTokens: NaN`, say): nothing was signed or sent. */
export class InvalidChatParametersError extends BaseError {
  override name = "InvalidChatParametersError";
  /** The parameter, as the caller named it (`maxTokens`, or the body field `max_tokens`). */
  readonly parameter: string;

  constructor(parameters: { parameter: string; value: unknown; expected: string }) {
    super(`${parameters.parameter} must be ${parameters.expected}, not ${String(parameters.value)}.`);
    this.parameter = parameters.parameter;
  }
}
