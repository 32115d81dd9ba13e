import { isAddressEqual, zeroAddress, type Address, type Client, type Hex } from "viem";
import { readContract } from "viem/actions";
import { nodeRegistryWithModelsAbi } from "../abis.ts";
import { decodeContractError, type ContractCallError } from "../errors/contract.ts";
import { getHostInfo, type HostInfo } from "./getHostInfo.ts";

export type GetHostsForModelParameters = {
  nodeRegistry: Address;
  modelId: Hex;
  /** Sort by the minimum price for this asset (zero address: ETH; an ERC-20: the stable price). Default: registry order. */
  sortByPriceFor?: Address | undefined;
  /** The asset whose minimum deposit each host's `minDeposit` gives. Default: `sortByPriceFor`, else ETH. */
  token?: Address | undefined;
};

export type GetHostsForModelReturnType = HostInfo[];

export type GetHostsForModelErrorType = ContractCallError;

/**
 * Finds the registered hosts that serve a model, with their URLs and minimum prices.
 *
 * @example
 * const hosts = await getHostsForModel(client, { nodeRegistry, modelId, sortByPriceFor: usdc });
 * const cheapest = hosts[0];
 */
export async function getHostsForModel(client: Client, parameters: GetHostsForModelParameters): Promise<GetHostsForModelReturnType> {
  const { nodeRegistry, modelId, sortByPriceFor, token = sortByPriceFor } = parameters;
  let addresses: readonly Address[];
  try {
    addresses = await readContract(client, { address: nodeRegistry, abi: nodeRegistryWithModelsAbi, functionName: "getNodesForModel", args: [modelId] });
  } catch (error) {
    throw decodeContractError(error, { functionName: "getNodesForModel" });
  }
  const hosts = await Promise.all(addresses.map((host) => getHostInfo(client, { nodeRegistry, host, token })));
  // The registry lists hosts that named the model; keep those that are registered and still list it.
  const serving = hosts.filter((host) => host.active && host.modelIds.some((id) => id.toLowerCase() === modelId.toLowerCase()));
  if (sortByPriceFor === undefined) return serving;
  const price = (host: HostInfo) => (isAddressEqual(sortByPriceFor, zeroAddress) ? host.minPricePerTokenNative : host.minPricePerToken);
  return serving.sort((a, b) => (price(a) < price(b) ? -1 : price(a) > price(b) ? 1 : 0));
}
