import { BaseError, ContractFunctionRevertedError } from "viem";

/** A call the chain refuses as it stands (a revert in simulation): retrying it unchanged cannot help. */
export class CallRevertedError extends Error {
  override readonly name = "CallRevertedError";
  constructor(
    readonly functionName: string,
    readonly errorName: string | undefined,
    readonly reason: string,
    options: { cause: unknown },
  ) {
    super(`${functionName} would revert: ${reason}`, options);
  }
}

/**
 * Reads a failed simulation of `functionName` as a {@link CallRevertedError} naming the contract's error and its
 * arguments. Only a revert is: a node's other answers (a lagging node's "header not found", an HTTP 401 or 403)
 * say nothing about the call, and are returned as they are.
 */
export function asCallReverted(functionName: string, error: unknown): Error {
  if (error instanceof BaseError) {
    const reverted = error.walk((cause) => cause instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (!reverted) return error;
    const errorName = reverted.data?.errorName ?? (reverted.reason ? "Error" : undefined);
    const reason = reverted.reason ?? (reverted.data ? `${reverted.data.errorName}(${(reverted.data.args ?? []).map(String).join(", ")})` : error.shortMessage);
    return new CallRevertedError(functionName, errorName, reason, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}
