import { BaseError as ViemBaseError, ContractFunctionRevertedError } from "viem";

/** An error the user can act on: printed as its message alone, never with a stack trace. */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

type ErrorWithShortMessage = Error & { shortMessage?: string; details?: string; metaMessages?: string[]; cause?: unknown; hostMessage?: unknown };

/** "The host rejected the request as invalid: max_tokens must be at most 4096": what the host said comes first. */
function withHostMessage(error: ErrorWithShortMessage, message: string): string {
  const said = typeof error.hostMessage === "string" ? error.hostMessage.trim().split("\n")[0] : "";
  return said ? `${message.replace(/\.$/, "")}: ${said}` : message;
}

/**
 * The values that matter (an SDK error's `metaMessages`, else a one-line `details`) in parentheses
 * on the same line, so every error stays one line; multi-line details (raw RPC text) need --debug.
 */
function inlineDetail(error: ErrorWithShortMessage): string {
  const meta = (error.metaMessages ?? []).filter((line) => line.trim() !== "");
  if (meta.length > 0) return ` (${meta.map((line) => line.trim()).join("; ")})`;
  if (error.details && error.details !== error.shortMessage && !error.details.includes("\n")) return ` (${error.details})`;
  return "";
}

/** Renders any thrown value as one or two human lines; the stack only with `--debug`. */
export function formatError(error: unknown, debug: boolean): string {
  if (debug && error instanceof Error && error.stack) return error.stack;
  if (error instanceof CliError) return error.hint ? `${error.message}\n  hint: ${error.hint}` : error.message;
  if (error instanceof ViemBaseError) {
    const revert = error.walk((cause) => cause instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (revert) {
      const decoded = revert.data ? `${revert.data.errorName}(${(revert.data.args ?? []).map(String).join(", ")})` : undefined;
      return `${revert.shortMessage.replace(/\.$/, "")}: ${revert.reason ?? decoded ?? "no reason given"}`;
    }
    const named = error.walk((cause) => cause instanceof Error && (cause as ErrorWithShortMessage).shortMessage !== undefined && !(cause instanceof ViemBaseError));
    const source = (named ?? error) as ErrorWithShortMessage;
    return source.shortMessage ?? source.message;
  }
  if (error instanceof Error) {
    const withShort = error as ErrorWithShortMessage;
    return `${withHostMessage(withShort, withShort.shortMessage ?? error.message)}${inlineDetail(withShort)}`;
  }
  return String(error);
}
