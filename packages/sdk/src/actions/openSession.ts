import {
  erc20Abi,
  parseEventLogs,
  parseSignature,
  zeroAddress,
  zeroHash,
  type Account,
  type Address,
  type Chain,
  type Client,
  type Hash,
  type Hex,
  type Transport,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { getBlock, getChainId, readContract, signTypedData, writeContract } from "viem/actions";
import { erc20PermitAbi, jobMarketplaceWithModelsAbi, marketplaceAbi, nodeRegistryWithModelsAbi } from "../abis.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import type { SessionJobsContracts } from "../contracts.ts";
import {
  CheckpointIntervalAboveHostMaxError,
  ContractRevertError,
  decodeContractError,
  DepositBelowHostMinimumError,
  HostNotRegisteredError,
  InsufficientDepositError,
  PriceBelowHostMinimumError,
  type ContractCallError,
  type TransactionRevertedError,
  type UnknownContractRevertError,
} from "../errors/contract.ts";
import type { HostUnreachableError, InvalidHostUrlError } from "../errors/host.ts";
import { SessionProtocolError } from "../errors/session.ts";
import { assertHostUrl } from "../session/hostUrl.ts";
import { getJson, hostEndpoint } from "../session/transport.ts";
import { emptyTranscriptHash } from "@session-jobs/protocol";
import type { CountCheckOptions, Session } from "../session/types.ts";
import { getHostInfo } from "./getHostInfo.ts";
import { permitTypes } from "@session-jobs/contracts/eip712";

export type OpenSessionParameters = {
  contracts: Pick<SessionJobsContracts, "jobMarketplace" | "nodeRegistry">;
  host: Address;
  /**
   * Amount escrowed, in the asset's base units (wei for ETH): at least the asset's minimum
   * (else {@link InsufficientDepositError}) and the host's minimum deposit for it, `HostInfo.minDeposit`
   * (else {@link DepositBelowHostMinimumError}), both thrown before anything is sent.
   */
  deposit: bigint;
  /** Payment asset: left out or the zero address for ETH, else an accepted ERC-20 (USDC). */
  token?: Address | undefined;
  /**
   * How an ERC-20 deposit moves: `permit` signs an ERC-2612 permit and opens in one transaction;
   * `approve` sends `approve` first when the allowance is short. Default `permit`.
   */
  approval?: "permit" | "approve" | undefined;
  /**
   * Price per token in the asset's base units. Default: the host's minimum for the asset, read
   * first. A price below that minimum throws before anything is sent.
   */
  pricePerToken?: bigint | undefined;
  /** Seconds after which anyone may end the session by timeout. Default 3600. */
  maxDuration?: bigint | undefined;
  /**
   * Tokens between checkpoint proofs (100..1,000,000, and at most the host's largest accepted,
   * `HostInfo.maxCheckpointInterval`). Default: 1000, the seed's production value, or the host's
   * largest when that is smaller. An interval above the host's largest throws
   * {@link CheckpointIntervalAboveHostMaxError} before anything is sent.
   */
  proofInterval?: bigint | undefined;
  /** The model the session is for; it must be approved and served by the host. Default: any the host serves. */
  modelId?: Hex | undefined;
  /** The `model` field of chat requests. Default: the first model the host lists in `GET /v1/models`. */
  model?: string | undefined;
  /**
   * Base URL of the host's API. Default: the `apiUrl` the host registered. One that cannot be
   * (not http(s), credentials, a query or fragment) throws {@link InvalidHostUrlError} before anything is deposited.
   */
  hostUrl?: string | undefined;
  /**
   * Ask the host (`GET /v1/models`) before depositing, so no money goes to a host that is down:
   * an unreachable host throws {@link HostUnreachableError}. Default true; `false` skips it.
   */
  checkHost?: boolean | undefined;
  /** How long the host check waits, in ms. Default 10,000. */
  hostTimeoutMs?: number | undefined;
  /** A `fetch` for the host check; default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch | undefined;
  /** Session key (private key). Default: a fresh one from `generatePrivateKey()`. */
  sessionKey?: Hex | undefined;
  /**
   * Permit deadline (unix seconds). Default: one hour after the later of the latest block's timestamp and this
   * machine's clock (the token judges it by the chain's clock, which may run ahead; an automining chain left idle stamps its next block with the time now).
   */
  permitDeadline?: bigint | undefined;
  countCheck?: CountCheckOptions | undefined;
};

export type OpenSessionReturnType = {
  session: Session;
  /** The `createSession` (or `createSessionWithPermit`) transaction. */
  transactionHash: Hash;
  /** The `approve` transaction, when one was needed. */
  approvalTransactionHash?: Hash | undefined;
};

export type OpenSessionErrorType =
  | InvalidHostUrlError
  | HostUnreachableError
  | HostNotRegisteredError
  | PriceBelowHostMinimumError
  | CheckpointIntervalAboveHostMaxError
  | InsufficientDepositError
  | DepositBelowHostMinimumError
  | ContractRevertError
  | UnknownContractRevertError
  | TransactionRevertedError
  | ContractCallError;

/**
 * Opens a session: reads the host's terms (registered, serves the model, minimum price and deposit
 * for the asset, largest checkpoint interval) and checks that the host answers; generates a fresh session key and registers it as
 * the session's `signer` in `createSession`, so that every later request and receipt is signed
 * without the wallet. The
 * wallet signs once: the `createSession` transaction for ETH, or a permit plus the transaction
 * for USDC (`approval: "approve"` adds an `approve` transaction when the allowance is short).
 *
 * @example
 * const { session } = await openSession(walletClient, {
 *   contracts,                         // { jobMarketplace, nodeRegistry }
 *   host: "0x…",
 *   deposit: parseEther("0.01"),       // ETH; or token: usdc, deposit: 5_000_000n
 * });
 * localStorage.setItem("session", serializeSession(session));
 */
export async function openSession(client: Client<Transport, Chain | undefined, Account>, parameters: OpenSessionParameters): Promise<OpenSessionReturnType> {
  const { contracts, host, deposit } = parameters;
  const marketplace = contracts.jobMarketplace;
  const token = parameters.token ?? zeroAddress;
  const modelId = parameters.modelId ?? zeroHash;
  const account = client.account;

  // The seed demands it: query the host's minimum before creating the session.
  const [terms, info, chainId, assetConfig] = await Promise.all([
    readContract(client, {
      address: contracts.nodeRegistry,
      abi: nodeRegistryWithModelsAbi,
      functionName: "getHostTerms",
      args: [host, token, modelId],
    }).catch((error: unknown) => Promise.reject(decodeContractError(error, { functionName: "getHostTerms" }))),
    getHostInfo(client, { nodeRegistry: contracts.nodeRegistry, host, token }),
    client.chain?.id ?? getChainId(client),
    readContract(client, { address: marketplace, abi: jobMarketplaceWithModelsAbi, functionName: "getAssetConfig", args: [token] }).catch((error: unknown) =>
      Promise.reject(decodeContractError(error, { functionName: "getAssetConfig" })),
    ),
  ]);
  const [active, minimum, servesModel, hostMaxInterval, hostMinDeposit] = terms;
  if (!active) throw new HostNotRegisteredError({ host });
  if (!servesModel)
    throw new ContractRevertError(`Host ${host} does not serve model ${modelId} (or it is not approved).`, {
      errorName: "ModelNotServed",
      args: [host, modelId],
    });
  const pricePerToken = parameters.pricePerToken ?? minimum;
  if (pricePerToken < minimum) throw new PriceBelowHostMinimumError({ pricePerToken, minimum });
  // The contract's rules, checked first so that the error can say what the least deposit is: the
  // larger of the marketplace's and the host's minimum, so one raise satisfies both.
  const leastDeposit = assetConfig.minDeposit > pricePerToken ? assetConfig.minDeposit : pricePerToken;
  if (deposit < hostMinDeposit && hostMinDeposit >= leastDeposit) throw new DepositBelowHostMinimumError({ deposit, minimum: hostMinDeposit });
  if (assetConfig.accepted && deposit < leastDeposit) throw new InsufficientDepositError({ deposit, minimum: leastDeposit });
  const proofInterval = parameters.proofInterval ?? (hostMaxInterval < defaultProofInterval ? hostMaxInterval : defaultProofInterval);
  if (proofInterval > hostMaxInterval) throw new CheckpointIntervalAboveHostMaxError({ proofInterval, hostMax: hostMaxInterval });
  const hostUrl = parameters.hostUrl ?? info.apiUrl;
  assertHostUrl(hostUrl);
  const servedModels = parameters.checkHost === false ? [] : await listHostModels(hostUrl, parameters);

  const sessionKey = parameters.sessionKey ?? generatePrivateKey();
  const sessionParams = {
    host,
    token,
    deposit,
    pricePerToken,
    maxDuration: parameters.maxDuration ?? 3600n,
    proofInterval,
    modelId,
    signer: privateKeyToAccount(sessionKey).address,
  };
  const chain = client.chain ?? null;

  let approvalTransactionHash: Hash | undefined;
  let receipt;
  if (token === zeroAddress) {
    receipt = await writeAndWait(client, "createSession", () =>
      writeContract(client, {
        address: marketplace,
        abi: marketplaceAbi,
        functionName: "createSession",
        args: [sessionParams],
        value: deposit,
        account,
        chain,
      }),
    );
  } else if ((parameters.approval ?? "permit") === "permit") {
    const deadline = parameters.permitDeadline ?? (await defaultPermitDeadline(client));
    const { v, r, s } = await signPermit(client, { token, spender: marketplace, value: deposit, deadline, chainId });
    receipt = await writeAndWait(client, "createSessionWithPermit", () =>
      writeContract(client, {
        address: marketplace,
        abi: marketplaceAbi,
        functionName: "createSessionWithPermit",
        args: [sessionParams, deadline, v, r, s],
        account,
        chain,
      }),
    );
  } else {
    const allowance = await readContract(client, { address: token, abi: erc20Abi, functionName: "allowance", args: [account.address, marketplace] }).catch(
      (error: unknown) => Promise.reject(decodeContractError(error, { functionName: "allowance" })),
    );
    if (allowance < deposit) {
      const approval = await writeAndWait(client, "approve", () =>
        writeContract(client, { address: token, abi: erc20Abi, functionName: "approve", args: [marketplace, deposit], account, chain }),
      );
      approvalTransactionHash = approval.transactionHash;
    }
    receipt = await writeAndWait(client, "createSession", () =>
      writeContract(client, { address: marketplace, abi: marketplaceAbi, functionName: "createSession", args: [sessionParams], account, chain }),
    );
  }

  const [created] = parseEventLogs({ abi: jobMarketplaceWithModelsAbi, logs: receipt.logs, eventName: "SessionJobCreated" }).filter(
    (log) => log.address.toLowerCase() === marketplace.toLowerCase(),
  );
  if (!created) throw new SessionProtocolError("The createSession transaction emitted no SessionJobCreated event.");

  const session: Session = {
    chainId,
    marketplace,
    jobId: created.args.jobId,
    openedAtBlock: receipt.blockNumber,
    host,
    hostUrl,
    sessionKey,
    token,
    deposit,
    pricePerToken,
    proofInterval: sessionParams.proofInterval,
    modelId,
    model: parameters.model ?? servedModels[0],
    sequence: 0n,
    transcriptHash: emptyTranscriptHash,
    cumulativeTokens: 0n,
    ...(parameters.countCheck && { countCheck: parameters.countCheck }),
  };
  return { session, transactionHash: receipt.transactionHash, approvalTransactionHash };
}

/** The seed's production checkpoint interval, used when the host accepts it. */
const defaultProofInterval = 1000n;

/** The model names a host serves (`GET /v1/models`); throws if the host does not answer. */
async function listHostModels(hostUrl: string, parameters: Pick<OpenSessionParameters, "hostTimeoutMs" | "fetch">): Promise<string[]> {
  const listing = (await getJson(hostEndpoint({ hostUrl }, "/v1/models"), {
    fetch: parameters.fetch,
    timeoutMs: parameters.hostTimeoutMs ?? 10_000,
  }).catch((error: unknown) => (error instanceof SessionProtocolError ? {} : Promise.reject(error)))) as { data?: { id?: unknown }[] } | null;
  return (Array.isArray(listing?.data) ? listing.data : []).flatMap((model) => (typeof model?.id === "string" ? [model.id] : []));
}

/**
 * An hour after the later of the latest block's timestamp and this machine's clock: the token checks the
 * deadline against `block.timestamp`, which runs ahead of the machine's on a chain moved on
 * (`evm_increaseTime`), and on an automining chain left idle the next block is stamped with the time now,
 * not the latest block's.
 */
async function defaultPermitDeadline(client: Client<Transport, Chain | undefined, Account>): Promise<bigint> {
  const latest = (await getBlock(client, { blockTag: "latest" })).timestamp;
  const now = BigInt(Math.floor(Date.now() / 1000));
  return (latest > now ? latest : now) + 3600n;
}

/** Signs an ERC-2612 permit, reading the token's EIP-712 domain (ERC-5267, else `name` and `version`). */
async function signPermit(
  client: Client<Transport, Chain | undefined, Account>,
  parameters: { token: Address; spender: Address; value: bigint; deadline: bigint; chainId: number },
): Promise<{ v: number; r: Hex; s: Hex }> {
  const { token, spender, value, deadline, chainId } = parameters;
  const owner = client.account.address;
  const read = <T>(promise: Promise<T>, functionName: string) =>
    promise.catch((error: unknown) => Promise.reject(decodeContractError(error, { functionName })));
  const [nonce, domain] = await Promise.all([
    read(readContract(client, { address: token, abi: erc20PermitAbi, functionName: "nonces", args: [owner] }), "nonces"),
    readContract(client, { address: token, abi: erc20PermitAbi, functionName: "eip712Domain" }).then(
      ([, name, version]) => ({ name, version }),
      async () => ({
        name: await read(readContract(client, { address: token, abi: erc20PermitAbi, functionName: "name" }), "name"),
        version: await readContract(client, { address: token, abi: erc20PermitAbi, functionName: "version" }).catch(() => "1"),
      }),
    ),
  ]);
  const signature = await signTypedData(client, {
    account: client.account,
    domain: { ...domain, chainId, verifyingContract: token },
    types: permitTypes,
    primaryType: "Permit",
    message: { owner, spender, value, nonce, deadline },
  });
  const { r, s, yParity } = parseSignature(signature);
  return { v: yParity + 27, r, s };
}
