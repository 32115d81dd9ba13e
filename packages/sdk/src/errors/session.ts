import type { Hex } from "viem";
import { BaseError } from "./base.ts";

/** One bound of the client-side count check that a host's claim broke. */
export type TokenCountViolation = {
  field: "promptTokens" | "completionTokens" | "cumulativeTokens";
  claimed: bigint;
  /** The most the client accepts (for `cumulativeTokens`: the exact value expected). */
  limit: bigint;
  reason: string;
};

/**
 * The host claimed more tokens than the client can account for (docs/design.md, "Client-side
 * count check"). No receipt was signed for the exchange.
 */
export class TokenCountMismatchError extends BaseError {
  override name = "TokenCountMismatchError";
  readonly violations: readonly TokenCountViolation[];

  constructor(parameters: { violations: readonly TokenCountViolation[] }) {
    super("The host's token counts exceed what was delivered; no receipt was signed.", {
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
