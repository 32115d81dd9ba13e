import { createPublicClient, createWalletClient, http, webSocket, type Abi, type Hex, type PublicClient, type Transport } from "viem";
import { nodeRegistryWithModelsAbi } from "@session-jobs/contracts/abis";
import type { HostConfig } from "../config/config.ts";

export type RegisterHostParameters = {
  config: Pick<HostConfig, "rpcUrl" | "account" | "contracts" | "models" | "pricing" | "publicUrl" | "metadata" | "chain"> & {
    limits: Pick<HostConfig["limits"], "maxCheckpointInterval">;
  };
  /** Called after each transaction is mined (progress output). */
  onTransaction?: (step: string, hash: Hex) => void;
};

/** What the registry assumes of a host that never published a largest checkpoint interval. */
const defaultMaxCheckpointInterval = 1000n;

export type RegisterHostReturnType = {
  /** `registered` for a new host; `updated` when an existing registration changed; `unchanged` otherwise. */
  action: "registered" | "updated" | "unchanged";
  transactions: { step: string; hash: Hex }[];
};

/**
 * Registers the configured host in NodeRegistryWithModels (`registerNode(metadata, apiUrl,
 * modelIds, minPricePerToken)`, then the native minimum if configured and the largest checkpoint
 * interval it accepts, `limits.maxCheckpointInterval`, unless it is the registry's default), or brings an existing
 * registration in line with the configuration through the registry's update functions.
 *
 * @example
 * const { action } = await registerHost({ config: loadHostConfig() });
 */
export async function registerHost(parameters: RegisterHostParameters): Promise<RegisterHostReturnType> {
  const { config } = parameters;
  if (!config.publicUrl) throw new Error("publicUrl is required to register: the URL clients reach this host at");
  const transport: Transport = config.rpcUrl.startsWith("ws") ? webSocket(config.rpcUrl) : http(config.rpcUrl);
  const publicClient: PublicClient = createPublicClient({ transport, pollingInterval: config.chain.pollingIntervalMs });
  const walletClient = createWalletClient({ account: config.account, transport });
  const registry = { address: config.contracts.nodeRegistry, abi: nodeRegistryWithModelsAbi } as const;
  // Widened: `write` takes any of the registry's functions by name.
  const anyRegistryFunction: Abi = registry.abi;
  const transactions: RegisterHostReturnType["transactions"] = [];

  const write = async (step: string, functionName: string, args: readonly unknown[]) => {
    const { request } = await publicClient.simulateContract({
      address: registry.address,
      abi: anyRegistryFunction,
      functionName,
      args,
      account: config.account,
    });
    const hash = await walletClient.writeContract({ ...request, chain: null } as Parameters<typeof walletClient.writeContract>[0]);
    const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: config.chain.receiptTimeoutMs });
    if (receipt.status !== "success") throw new Error(`${step} transaction ${hash} reverted`);
    transactions.push({ step, hash });
    parameters.onTransaction?.(step, hash);
  };

  const node = await publicClient.readContract({ ...registry, functionName: "getNode", args: [config.account.address] });
  const maxInterval = BigInt(config.limits.maxCheckpointInterval);
  const publishInterval = () => write("updateMaxCheckpointInterval", "updateMaxCheckpointInterval", [maxInterval]);
  const models = config.models.map((model) => model.toLowerCase());
  if (!node.active) {
    await write("registerNode", "registerNode", [config.metadata, config.publicUrl, config.models, config.pricing.minPricePerToken]);
    if (config.pricing.minPricePerTokenNative !== undefined) await write("updatePricingNative", "updatePricingNative", [config.pricing.minPricePerTokenNative]);
    if (maxInterval !== defaultMaxCheckpointInterval) await publishInterval();
    return { action: "registered", transactions };
  }

  if (BigInt(node.minPricePerToken) !== config.pricing.minPricePerToken) await write("updatePricing", "updatePricing", [config.pricing.minPricePerToken]);
  if (config.pricing.minPricePerTokenNative !== undefined && BigInt(node.minPricePerTokenNative) !== config.pricing.minPricePerTokenNative)
    await write("updatePricingNative", "updatePricingNative", [config.pricing.minPricePerTokenNative]);
  const publishedInterval = node.maxCheckpointInterval === 0 ? defaultMaxCheckpointInterval : BigInt(node.maxCheckpointInterval);
  if (publishedInterval !== maxInterval) await publishInterval();
  if (node.apiUrl !== config.publicUrl) await write("updateApiUrl", "updateApiUrl", [config.publicUrl]);
  if (node.metadata !== config.metadata) await write("updateMetadata", "updateMetadata", [config.metadata]);
  const registered = node.modelIds.map((model: Hex) => model.toLowerCase());
  if (registered.length !== models.length || registered.some((model: string, index: number) => model !== models[index]))
    await write("updateSupportedModels", "updateSupportedModels", [config.models]);
  return { action: transactions.length > 0 ? "updated" : "unchanged", transactions };
}
