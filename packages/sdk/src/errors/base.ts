/** Package name and version shown at the foot of every error message. */
export const sdkVersion = "@session-jobs/sdk@0.1.0";

export type BaseErrorParameters = {
  cause?: unknown;
  details?: string | undefined;
  metaMessages?: string[] | undefined;
  name?: string | undefined;
};

export type BaseErrorType = BaseError & { name: "SessionJobsError" };

/**
 * The one error class every SDK error extends (viem's habit): a one-line `shortMessage` for
 * people, `details` from the cause, `metaMessages` with the values that matter, and `cause`.
 */
export class BaseError extends Error {
  details: string;
  metaMessages?: string[] | undefined;
  shortMessage: string;
  version = sdkVersion;

  override name = "SessionJobsError";

  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    const { cause } = parameters;
    const details =
      parameters.details ??
      (cause instanceof BaseError
        ? cause.details
        : cause instanceof Error && "shortMessage" in cause && typeof cause.shortMessage === "string"
          ? cause.shortMessage
          : cause instanceof Error
            ? cause.message
            : "");
    const message = [
      shortMessage,
      ...(parameters.metaMessages?.length ? ["", ...parameters.metaMessages] : []),
      ...(details ? ["", `Details: ${details}`] : []),
      `Version: ${sdkVersion}`,
    ].join("\n");
    super(message, cause === undefined ? undefined : { cause });
    this.details = details;
    this.metaMessages = parameters.metaMessages;
    this.shortMessage = shortMessage;
    if (parameters.name) this.name = parameters.name;
  }

  /** Follows `cause` links; returns the first error `predicate` accepts, or the innermost one. */
  walk(predicate?: (error: unknown) => boolean): unknown {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk starts at this error and moves down its causes
    let current: unknown = this;
    while (true) {
      if (predicate?.(current)) return current;
      const next = current instanceof Error ? current.cause : undefined;
      if (next === undefined) return predicate ? null : current;
      current = next;
    }
  }
}
