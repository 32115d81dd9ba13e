import {
  BaseError as SdkError,
  CheckpointIntervalAboveHostMaxError,
  DepositBelowHostMinimumError,
  HostUnreachableError,
  InsufficientDepositError,
  PriceBelowHostMinimumError,
  SessionCloseInProgressError,
  SessionDepositExhaustedError,
  SessionNotActiveError,
} from "@session-jobs/sdk";
import { BaseError as ViemError, UserRejectedRequestError } from "viem";
import { formatAmount, formatPrice, formatTokens, type Asset } from "./format.ts";

/** An error's `message` when it has a string one. */
function messageOf(item: unknown): string {
  const message = (item as { message?: unknown }).message;
  return typeof message === "string" ? message : "";
}

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current !== undefined && current !== null && chain.length < 10; current = (current as { cause?: unknown }).cause)
    chain.push(current);
  return chain;
}

/** The first error of `type` along `error`'s cause chain. */
export function findCause<T>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  return causes(error).find((item): item is T => item instanceof type);
}

/** Whether the user declined in their wallet (EIP-1193 code 4001, or the wallet's own words). */
export function isWalletRejection(error: unknown): boolean {
  return causes(error).some(
    (item) =>
      item instanceof UserRejectedRequestError || (item as { code?: unknown }).code === 4001 || /user (rejected|denied|cancelled)/i.test(messageOf(item)),
  );
}

/**
 * One plain sentence for any error the page can meet: wallet rejections, the contracts' reverts
 * (decoded by the SDK), an unreachable host. Never a stack, a raw revert or a hex blob.
 */
export function describeError(error: unknown, context: { asset?: Asset; hostMinimum?: bigint } = {}): string {
  if (isWalletRejection(error)) return "You declined the request in your wallet; nothing was sent.";
  const belowMinimum = findCause(error, PriceBelowHostMinimumError);
  if (belowMinimum)
    return context.asset && context.hostMinimum !== undefined
      ? `The host's minimum is ${formatPrice(context.hostMinimum, context.asset)}; raise your price.`
      : "Your price is below the host's minimum; raise your price.";
  const aboveHostMax = findCause(error, CheckpointIntervalAboveHostMaxError);
  if (aboveHostMax) return `This host takes a checkpoint every ${formatTokens(aboveHostMax.hostMax)} tokens at most; lower the checkpoint interval.`;
  const belowHostDeposit = findCause(error, DepositBelowHostMinimumError);
  if (belowHostDeposit)
    return context.asset
      ? `This host's minimum deposit is ${formatAmount(belowHostDeposit.minimum, context.asset)}; raise your deposit.`
      : "Your deposit is below this host's minimum; raise your deposit.";
  if (findCause(error, InsufficientDepositError)) return "The deposit is below the marketplace's minimum; deposit more.";
  const unreachable = findCause(error, HostUnreachableError);
  if (unreachable) return "The host does not answer right now; pick another host or try again in a moment.";
  if (findCause(error, SessionDepositExhaustedError)) return "The deposit is used up; close this session and open a new one.";
  if (findCause(error, SessionCloseInProgressError))
    return "This session is already being closed (another tab or a retried close) and has not settled yet; it settles by itself — try closing again in a minute, or settle on chain without the host.";
  if (findCause(error, SessionNotActiveError)) return "This session is no longer active on chain; close it to see the settlement.";
  if (causes(error).some((item) => /insufficient funds|exceeds balance/i.test(messageOf(item))))
    return "Your wallet does not hold enough to pay for this (deposit and gas).";
  const sdk = findCause(error, SdkError);
  if (sdk) return sentence(sdk.shortMessage);
  const viem = findCause(error, ViemError);
  if (viem) return sentence(viem.shortMessage);
  if (error instanceof Error && error.name === "AbortError") return "Stopped.";
  return sentence(error instanceof Error ? error.message : String(error));
}

/** First line, hex blobs cut, ending in a full stop. */
function sentence(text: string): string {
  const line = (text.split("\n")[0] ?? "").replace(/0x[0-9a-fA-F]{66,}/g, "(data)").trim();
  if (line === "") return "Something went wrong; please try again.";
  return /[.!?]$/.test(line) ? line : `${line}.`;
}
