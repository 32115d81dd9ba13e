import { BaseError as ViemBaseError, ContractFunctionExecutionError, ContractFunctionRevertedError, ContractFunctionZeroDataError } from "viem";

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

/** A command line that lacks a required option: the user's mistake in how they called, exit 2 like a parser error. */
export class UsageError extends CliError {
  override name = "UsageError";
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

/** The first of `error` and its causes (viem's, the SDK's, the host's alike) that is a `type`. */
export function findCause<T>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 32; cause = cause.cause, depth++) if (cause instanceof type) return cause;
  return undefined;
}

/** What to do when a deployment's address holds no contract. */
export const noContractHint = "no contract there — redeploy (session-jobs deploy) or point SESSION_JOBS_DEPLOYMENT at this chain's deployment";

/**
 * A read of a contract that returned no data: on a chain, nearly always an address with no code (a
 * development chain restarted and not redeployed, or a deployment file of another chain).
 */
function noContractError(error: unknown, chainId: number | undefined): CliError | undefined {
  if (!findCause(error, ContractFunctionZeroDataError)) return undefined;
  const call = findCause(error, ContractFunctionExecutionError);
  const where = `${call?.contractAddress ? `at ${call.contractAddress}` : "there"} on ${chainId === undefined ? "this chain" : `chain ${chainId}`}`;
  return new CliError(`no contract ${where}${call ? ` (${call.functionName} returned no data)` : ""}`, noContractHint);
}

/** Renders any thrown value as one or two human lines; the stack only with `--debug`. `chainId` is the chain the command reached, if any. */
export function formatError(error: unknown, debug: boolean, chainId?: number): string {
  if (debug && error instanceof Error && error.stack) return error.stack;
  const noContract = noContractError(error, chainId);
  if (noContract) return formatError(noContract, debug);
  if (error instanceof CliError) return error.hint ? `${error.message}\n  hint: ${error.hint}` : error.message;
  if (error instanceof ViemBaseError) {
    const revert = error.walk((cause) => cause instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (revert) {
      const decoded = revert.data ? `${revert.data.errorName}(${(revert.data.args ?? []).map(String).join(", ")})` : undefined;
      return `${revert.shortMessage.replace(/\.$/, "")}: ${revert.reason ?? decoded ?? "no reason given"}`;
    }
    const named = error.walk(
      (cause) => cause instanceof Error && (cause as ErrorWithShortMessage).shortMessage !== undefined && !(cause instanceof ViemBaseError),
    );
    const source = (named ?? error) as ErrorWithShortMessage;
    return source.shortMessage ?? source.message;
  }
  if (error instanceof Error) {
    const withShort = error as ErrorWithShortMessage & { hint?: unknown };
    const said = withHostMessage(withShort, withShort.shortMessage ?? error.message);
    // An error that says what to do (the SDK's SessionCloseInProgressError) gets the CLI's hint line instead of its details.
    if (typeof withShort.hint === "string") return `${said}\n  hint: ${withShort.hint}`;
    return `${said}${inlineDetail(withShort)}`;
  }
  return String(error);
}
