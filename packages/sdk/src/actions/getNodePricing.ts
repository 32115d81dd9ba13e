import { zeroAddress, type Address, type Client } from "viem";
import { readContract } from "viem/actions";
import { nodeRegistryWithModelsAbi } from "../abis.ts";
import { decodeContractError, HostNotRegisteredError, type ContractCallError } from "../errors/contract.ts";

export type GetNodePricingParameters = {
  nodeRegistry: Address;
  host: Address;
  /**
   * The payment asset: left out, the host's stable minimum (USDC base units per token, the seed's
   * `getNodePricing`); the zero address, its native minimum in wei per token; an ERC-20, the
   * minimum for that token.
   */
  token?: Address | undefined;
};

/** The host's minimum price per token, in the asset's base units. */
export type GetNodePricingReturnType = bigint;

export type GetNodePricingErrorType = HostNotRegisteredError | ContractCallError;

/**
 * Reads a host's minimum price per token. Query it before opening a session: a lower price
 * reverts with "Price below host minimum".
 *
 * @example
 * const stable = await getNodePricing(client, { nodeRegistry, host });              // e.g. 2000n = 0.002 USDC
 * const native = await getNodePricing(client, { nodeRegistry, host, token: zeroAddress }); // wei per token
 */
export async function getNodePricing(client: Client, parameters: GetNodePricingParameters): Promise<GetNodePricingReturnType> {
  const { nodeRegistry, host, token } = parameters;
  let minimum: bigint;
  try {
    minimum =
      token === undefined
        ? await readContract(client, { address: nodeRegistry, abi: nodeRegistryWithModelsAbi, functionName: "getNodePricing", args: [host] })
        : await readContract(client, {
            address: nodeRegistry,
            abi: nodeRegistryWithModelsAbi,
            functionName: "getNodePricingFor",
            args: [host, token ?? zeroAddress],
          });
  } catch (error) {
    throw decodeContractError(error, { functionName: token === undefined ? "getNodePricing" : "getNodePricingFor" });
  }
  // Registered hosts always have a minimum above zero; zero means "not registered".
  if (minimum === 0n) throw new HostNotRegisteredError({ host });
  return minimum;
}
