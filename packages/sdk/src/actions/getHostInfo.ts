import { zeroAddress, type Address, type Client, type Hex } from "viem";
import { readContract } from "viem/actions";
import { nodeRegistryWithModelsAbi } from "../abis.ts";
import { decodeContractError, HostNotRegisteredError, type ContractCallError } from "../errors/contract.ts";

export type GetHostInfoParameters = {
  nodeRegistry: Address;
  host: Address;
  /** The payment asset whose minimum deposit `minDeposit` gives: left out or the zero address for ETH, else an ERC-20. */
  token?: Address | undefined;
};

/** A host's registration. */
export type HostInfo = {
  address: Address;
  /** Whether the host is registered now (false after `unregisterNode`). */
  active: boolean;
  registeredAt: bigint;
  /** Free-form JSON the host published (hardware, region, …). */
  metadata: string;
  /** Base URL of the host's OpenAI-compatible API. */
  apiUrl: string;
  modelIds: readonly Hex[];
  /** Stable minimum: USDC base units per token (applies to every accepted ERC-20). */
  minPricePerToken: bigint;
  /** Native minimum: wei per token (applies to ETH sessions). */
  minPricePerTokenNative: bigint;
  /**
   * Largest checkpoint interval (tokens between receipts) the host accepts for a new session: what
   * it published with `updateMaxCheckpointInterval`, else the registry's default (1000). A session
   * asking for more reverts with `CheckpointIntervalAboveHostMax`.
   */
  maxCheckpointInterval: bigint;
  /**
   * Smallest deposit the host accepts for a session paid in the asset asked for (`token`, ETH when
   * left out), in its base units; 0 when the host set none (the marketplace's minimum for the asset
   * still applies). A smaller deposit reverts with `DepositBelowHostMinimum`.
   */
  minDeposit: bigint;
};

export type GetHostInfoReturnType = HostInfo;

export type GetHostInfoErrorType = HostNotRegisteredError | ContractCallError;

/**
 * Reads everything the registry knows about a host: URL, models, both minimum prices, the largest
 * checkpoint interval it accepts, its minimum deposit in one asset, metadata.
 * Throws {@link HostNotRegisteredError} for an address that never registered.
 *
 * @example
 * const info = await getHostInfo(client, { nodeRegistry, host, token: usdc });
 * console.log(info.apiUrl, info.minPricePerToken, info.maxCheckpointInterval, info.minDeposit, info.modelIds);
 */
export async function getHostInfo(client: Client, parameters: GetHostInfoParameters): Promise<GetHostInfoReturnType> {
  const { nodeRegistry, host, token = zeroAddress } = parameters;
  let node;
  let terms;
  try {
    [node, terms] = await Promise.all([
      readContract(client, { address: nodeRegistry, abi: nodeRegistryWithModelsAbi, functionName: "getNode", args: [host] }),
      readContract(client, { address: nodeRegistry, abi: nodeRegistryWithModelsAbi, functionName: "getNodeTerms", args: [host, token] }),
    ]);
  } catch (error) {
    throw decodeContractError(error, { functionName: "getNode" });
  }
  if (node.registeredAt === 0) throw new HostNotRegisteredError({ host });
  return {
    address: host,
    active: node.active,
    registeredAt: BigInt(node.registeredAt),
    metadata: node.metadata,
    apiUrl: node.apiUrl,
    modelIds: node.modelIds,
    minPricePerToken: BigInt(node.minPricePerToken),
    minPricePerTokenNative: node.minPricePerTokenNative,
    maxCheckpointInterval: terms.maxCheckpointInterval,
    minDeposit: terms.minDeposit,
  };
}
