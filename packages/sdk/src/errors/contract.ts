import { BaseError as ViemBaseError, ContractFunctionRevertedError, formatEther, type Hex } from "viem";
import { sessionJobsErrorAbi } from "../abis.ts";
import { BaseError } from "./base.ts";

/** A custom error name any Session Jobs contract may revert with. */
export type SessionJobsErrorName = Extract<(typeof sessionJobsErrorAbi)[number], { type: "error" }>["name"];

export type ContractRevertErrorParameters = {
  /** `Error(string)` reason, for the seed's string reverts. */
  reason?: string | undefined;
  /** Custom error name, for everything else. */
  errorName?: string | undefined;
  args?: readonly unknown[] | undefined;
  /** The contract function that reverted. */
  functionName?: string | undefined;
  cause?: unknown;
  metaMessages?: string[] | undefined;
};

/**
 * A Session Jobs contract reverted. `reason` holds the seed's revert string where the contract
 * uses one; `errorName` and `args` hold a decoded custom error otherwise. The seed's strings each
 * have a subclass ({@link PriceBelowHostMinimumError}, …); custom errors are told apart by
 * `errorName`, typed as {@link SessionJobsErrorName}.
 */
export class ContractRevertError extends BaseError {
  override name = "ContractRevertError";
  readonly reason: string | undefined;
  readonly errorName: SessionJobsErrorName | "Error" | "Panic" | undefined;
  readonly args: readonly unknown[];
  readonly functionName: string | undefined;

  constructor(shortMessage: string, parameters: ContractRevertErrorParameters) {
    super(shortMessage, {
      cause: parameters.cause,
      metaMessages: [
        ...(parameters.functionName ? [`Function: ${parameters.functionName}`] : []),
        ...(parameters.errorName && parameters.errorName !== "Error"
          ? [`Error: ${parameters.errorName}(${(parameters.args ?? []).map(formatArg).join(", ")})`]
          : []),
        ...(parameters.reason ? [`Reason: ${parameters.reason}`] : []),
        ...(parameters.metaMessages ?? []),
      ],
    });
    this.reason = parameters.reason;
    this.errorName = parameters.errorName as ContractRevertError["errorName"];
    this.args = parameters.args ?? [];
    this.functionName = parameters.functionName;
  }
}

/** "Price below host minimum": the offered price is under the host's minimum for the asset. */
export class PriceBelowHostMinimumError extends ContractRevertError {
  override name = "PriceBelowHostMinimumError";
  constructor(parameters: ContractRevertErrorParameters & { pricePerToken?: bigint; minimum?: bigint } = {}) {
    super("Price below host minimum.", {
      reason: "Price below host minimum",
      ...parameters,
      metaMessages: [
        ...(parameters.pricePerToken === undefined ? [] : [`Offered: ${parameters.pricePerToken} per token`]),
        ...(parameters.minimum === undefined ? [] : [`Host minimum: ${parameters.minimum} per token`]),
        ...(parameters.metaMessages ?? []),
      ],
    });
  }
}

/** "Host not registered": the host is not (or no longer) in the NodeRegistry. */
export class HostNotRegisteredError extends ContractRevertError {
  override name = "HostNotRegisteredError";
  constructor(parameters: ContractRevertErrorParameters & { host?: Hex } = {}) {
    super("Host not registered.", {
      reason: "Host not registered",
      ...parameters,
      metaMessages: [...(parameters.host ? [`Host: ${parameters.host}`] : []), ...(parameters.metaMessages ?? [])],
    });
  }
}

/** "Insufficient deposit": below the asset's minimum deposit (0.0002 ETH, 0.80 USDC). */
export class InsufficientDepositError extends ContractRevertError {
  override name = "InsufficientDepositError";
  /** The deposit offered and the least the marketplace takes (base units), when known. */
  readonly deposit: bigint | undefined;
  readonly minimum: bigint | undefined;
  constructor(parameters: ContractRevertErrorParameters & { deposit?: bigint; minimum?: bigint } = {}) {
    super("Insufficient deposit.", {
      reason: "Insufficient deposit",
      ...parameters,
      metaMessages: [
        ...(parameters.deposit === undefined ? [] : [`Deposit: ${parameters.deposit} base units`]),
        ...(parameters.minimum === undefined ? [] : [`Minimum: ${parameters.minimum} base units`]),
        ...(parameters.metaMessages ?? []),
      ],
    });
    this.deposit = parameters.deposit;
    this.minimum = parameters.minimum;
  }
}

/** "Only host can submit proof": a proof from an account other than the session's host. */
export class OnlyHostCanSubmitProofError extends ContractRevertError {
  override name = "OnlyHostCanSubmitProofError";
  constructor(parameters: ContractRevertErrorParameters = {}) {
    super("Only host can submit proof.", { reason: "Only host can submit proof", ...parameters });
  }
}

/** "Exceeds deposit": the proven total would cost more than the deposit. */
export class ExceedsDepositError extends ContractRevertError {
  override name = "ExceedsDepositError";
  constructor(parameters: ContractRevertErrorParameters = {}) {
    super("Exceeds deposit.", { reason: "Exceeds deposit", ...parameters });
  }
}

/**
 * The checkpoint interval asked for is above the largest the host accepts (`getNodeTerms`): thrown
 * before any transaction is sent, and for the contract's `CheckpointIntervalAboveHostMax` revert.
 */
export class CheckpointIntervalAboveHostMaxError extends ContractRevertError {
  override name = "CheckpointIntervalAboveHostMaxError";
  readonly proofInterval: bigint;
  readonly hostMax: bigint;
  constructor(parameters: ContractRevertErrorParameters & { proofInterval: bigint; hostMax: bigint }) {
    super(`Checkpoint interval ${parameters.proofInterval} is above the ${parameters.hostMax} tokens the host accepts.`, {
      errorName: "CheckpointIntervalAboveHostMax",
      args: [parameters.proofInterval, parameters.hostMax],
      ...parameters,
      metaMessages: [
        `Pick an interval of at most ${parameters.hostMax} tokens, or leave it out to get one the host accepts.`,
        ...(parameters.metaMessages ?? []),
      ],
    });
    this.proofInterval = parameters.proofInterval;
    this.hostMax = parameters.hostMax;
  }
}

/**
 * The deposit is below the host's minimum deposit for the asset (`getNodeTerms`, `HostInfo.minDeposit`):
 * thrown before any transaction is sent, and for the contract's `DepositBelowHostMinimum` revert.
 */
export class DepositBelowHostMinimumError extends ContractRevertError {
  override name = "DepositBelowHostMinimumError";
  /** The deposit offered and the host's minimum, in the asset's base units. */
  readonly deposit: bigint;
  readonly minimum: bigint;
  constructor(parameters: ContractRevertErrorParameters & { deposit: bigint; minimum: bigint }) {
    super(`Deposit ${parameters.deposit} is below the host's minimum deposit of ${parameters.minimum}.`, {
      errorName: "DepositBelowHostMinimum",
      args: [parameters.deposit, parameters.minimum],
      ...parameters,
      metaMessages: [`Deposit at least ${parameters.minimum} base units, or pick another host.`, ...(parameters.metaMessages ?? [])],
    });
    this.deposit = parameters.deposit;
    this.minimum = parameters.minimum;
  }
}

const seedRevertClasses: Record<string, new (parameters: ContractRevertErrorParameters) => ContractRevertError> = {
  "Price below host minimum": PriceBelowHostMinimumError,
  "Host not registered": HostNotRegisteredError,
  "Insufficient deposit": InsufficientDepositError,
  "Only host can submit proof": OnlyHostCanSubmitProofError,
  "Exceeds deposit": ExceedsDepositError,
};

const sessionStatusNames = ["None", "Active", "Completed", "TimedOut", "Abandoned"] as const;

/** One line per custom error, for people; the NatSpec of the interfaces says the same. */
const customErrorMessages: Partial<Record<SessionJobsErrorName, (args: readonly unknown[]) => string>> = {
  SessionNotActive: ([jobId, status]) => `Session ${jobId} is not active (${sessionStatusNames[Number(status)] ?? status}).`,
  NotAuthorized: ([jobId, caller]) => `${caller} may not end session ${jobId} this way.`,
  TokenNotAccepted: ([token]) => `The marketplace does not accept ${token} as payment.`,
  PriceOutOfRange: ([price, min, max]) => `Price ${price} is outside ${min}..${max}.`,
  InvalidProofInterval: ([interval, min, max]) => `Proof interval ${interval} is outside ${min}..${max} tokens.`,
  CheckpointIntervalAboveHostMax: ([interval, hostMax]) => `Checkpoint interval ${interval} is above the ${hostMax} tokens the host accepts.`,
  CheckpointIntervalOutOfRange: ([interval, min, max]) => `Largest checkpoint interval ${interval} is outside ${min}..${max} tokens.`,
  MinDepositTooLarge: ([token, minDeposit, max]) => `Minimum deposit ${minDeposit} for ${token} is above the largest deposit, ${max}.`,
  InvalidAssetPricing: ([token, price]) => `Minimum ${price} for ${token} is not allowed (not for ETH, at most 2^96 - 1).`,
  InvalidDuration: ([duration, min, max]) => `Duration ${duration} s is outside ${min}..${max} s.`,
  DepositTooLarge: ([deposit]) => `Deposit ${deposit} is too large.`,
  ValueMismatch: ([sent, expected]) => `Sent ${formatEther(sent as bigint)} ETH, expected ${formatEther(expected as bigint)} ETH.`,
  DepositNotReceived: ([expected, received]) => `The token moved ${received} into escrow, not the deposit of ${expected}.`,
  ModelNotServed: ([host, modelId]) => `Host ${host} does not serve model ${modelId} (or it is not approved).`,
  SignerIsHost: ([signer]) => `The session signer ${signer} is the host itself.`,
  PermitFailed: ([token, allowance, deposit]) => `The permit for ${token} failed and the allowance ${allowance} does not cover ${deposit}.`,
  ZeroTokens: ([jobId]) => `A proof for session ${jobId} with zero tokens.`,
  InvalidProofLength: ([length]) => `Proof of ${length} bytes is too short.`,
  InvalidProof: ([jobId, signer]) => `The receipt for session ${jobId} is not signed by its signer ${signer}.`,
  SessionNotExpired: ([jobId, expiresAt]) => `Session ${jobId} runs until ${expiresAt}; no timeout yet.`,
  SessionNotAbandoned: ([jobId, claimableAt]) => `Session ${jobId} may be claimed as abandoned from ${claimableAt}.`,
  NothingToWithdraw: ([token]) => `Nothing to withdraw in ${token}.`,
  InsufficientEarnings: ([token, requested, available]) => `Requested ${requested} of ${token}, only ${available} earned.`,
  NodeAlreadyRegistered: ([host]) => `Host ${host} is already registered.`,
  ModelNotApproved: ([modelId]) => `Model ${modelId} is not approved.`,
};

/**
 * Turns whatever a contract call threw into a typed SDK error: the seed's revert strings into
 * their named classes, custom errors into {@link ContractRevertError} with `errorName` and `args`
 * (decoded through every Session Jobs ABI), undecodable reverts into {@link UnknownContractRevertError},
 * and anything else (RPC down, out of gas money) into {@link ContractCallError}.
 *
 * @example
 * try {
 *   await writeContract(client, { abi: jobMarketplaceWithModelsAbi, ... });
 * } catch (error) {
 *   throw decodeContractError(error, { functionName: "createSession" });
 * }
 */
export function decodeContractError(error: unknown, context: { functionName?: string } = {}): BaseError {
  if (error instanceof BaseError) return error;
  const reverted =
    error instanceof ViemBaseError ? (error.walk((inner) => inner instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null) : null;
  const functionName = context.functionName;
  if (reverted) {
    const { reason, data, signature } = reverted;
    if (data?.errorName === "Error" || (reason !== undefined && data === undefined)) {
      const ErrorClass = reason !== undefined ? seedRevertClasses[reason] : undefined;
      if (ErrorClass) return new ErrorClass({ functionName, cause: error });
      return new ContractRevertError(`The contract reverted: ${reason ?? "(no reason)"}.`, {
        reason,
        errorName: "Error",
        functionName,
        cause: error,
      });
    }
    if (data) {
      const args = data.args ?? [];
      if (data.errorName === "CheckpointIntervalAboveHostMax") {
        const [proofInterval, hostMax] = args as readonly [bigint, bigint];
        return new CheckpointIntervalAboveHostMaxError({ proofInterval, hostMax, functionName, cause: error });
      }
      if (data.errorName === "DepositBelowHostMinimum") {
        const [deposit, minimum] = args as readonly [bigint, bigint];
        return new DepositBelowHostMinimumError({ deposit, minimum, functionName, cause: error });
      }
      const describe = customErrorMessages[data.errorName as SessionJobsErrorName];
      const shortMessage = describe
        ? describe(args)
        : data.errorName === "Panic"
          ? `The contract panicked: ${reason}.`
          : `The contract reverted with ${data.errorName}.`;
      return new ContractRevertError(shortMessage, { errorName: data.errorName, args, reason, functionName, cause: error });
    }
    return new UnknownContractRevertError({ signature, functionName, cause: error });
  }
  return new ContractCallError({ functionName, cause: error });
}

/** A revert whose data no Session Jobs ABI decodes (another contract's error, or none at all). */
export class UnknownContractRevertError extends BaseError {
  override name = "UnknownContractRevertError";
  readonly signature: Hex | undefined;
  constructor(parameters: { signature?: Hex | undefined; functionName?: string | undefined; cause?: unknown }) {
    super("The contract reverted with an error the SDK cannot decode.", {
      cause: parameters.cause,
      metaMessages: [
        ...(parameters.functionName ? [`Function: ${parameters.functionName}`] : []),
        ...(parameters.signature ? [`Selector: ${parameters.signature}`] : []),
      ],
    });
    this.signature = parameters.signature;
  }
}

/** A contract call failed without a revert: RPC unreachable, nonce trouble, not enough gas money. */
export class ContractCallError extends BaseError {
  override name = "ContractCallError";
  constructor(parameters: { functionName?: string | undefined; cause: unknown }) {
    super(`The call${parameters.functionName ? ` to ${parameters.functionName}` : ""} failed.`, {
      cause: parameters.cause,
    });
  }
}

/** A mined transaction reverted (the revert data is not in a receipt; replay the call to see it). */
export class TransactionRevertedError extends BaseError {
  override name = "TransactionRevertedError";
  readonly transactionHash: Hex;
  constructor(parameters: { transactionHash: Hex; functionName?: string | undefined }) {
    super(`The ${parameters.functionName ?? "transaction"} transaction reverted.`, {
      metaMessages: [`Transaction: ${parameters.transactionHash}`],
    });
    this.transactionHash = parameters.transactionHash;
  }
}

function formatArg(arg: unknown): string {
  return typeof arg === "bigint"
    ? arg.toString()
    : typeof arg === "string"
      ? arg
      : JSON.stringify(arg, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
}
