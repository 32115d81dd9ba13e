import {
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  http,
  keccak256,
  webSocket,
  type Abi,
  type Hex,
  type PublicClient,
  type Transport,
} from "viem";
import { nodeRegistryWithModelsAbi } from "@session-jobs/contracts/abis";
import type { HostConfig } from "../config/config.ts";
import { broadcastRawTransaction, findTransactionReceipt, type Retry } from "./rawTransactions.ts";
import { sleep } from "./retry.ts";

export type RegisterHostParameters = {
  config: Pick<HostConfig, "rpcUrl" | "account" | "contracts" | "models" | "pricing" | "publicUrl" | "metadata" | "chain"> & {
    limits: Pick<HostConfig["limits"], "maxCheckpointInterval">;
  };
  /** Called after each transaction is mined (progress output). */
  onTransaction?: (step: string, hash: Hex) => void;
};

/** What the registry assumes of a host that never published a largest checkpoint interval. */
const defaultMaxCheckpointInterval = 1000n;

/**
 * How many times one registration step is signed anew after another transaction took its nonce. A
 * running host node sends its proofs from the same account: both can read the same pending nonce,
 * and the second to arrive is refused ("nonce too low", "replacement transaction underpriced"), or
 * replaces the first in the pool (the first never lands).
 */
const nonceRefusalsPerStep = 5;

/**
 * A registration step that never landed: each time, another transaction from the host's account
 * took its nonce, either first (the chain refused ours as used) or by replacing ours in the pool.
 */
export class RegisterNonceError extends Error {
  override readonly name = "RegisterNonceError";
  readonly hint = "another sender on the host's account (a running host node's proofs) kept taking the same nonce; run the command again";
  constructor(
    readonly step: string,
    readonly refusals: number,
  ) {
    super(`${step}: another transaction from the host's account took the step's nonce ${refusals} times (refused ours as used, or replaced ours in the pool)`);
  }
}

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

  /** No retry of a broadcast as it is: a refused nonce is signed anew below, anything else is the step's failure. */
  const once: Retry = (task) => task();

  /**
   * Simulates the call (a revert costs no gas and names its error), then signs it with the pending
   * nonce and sends it; a nonce the chain refuses as used (another sender on the account took it
   * first) is read anew and the call signed again, a few times, a polling interval longer after each.
   */
  const write = async (step: string, functionName: string, args: readonly unknown[]) => {
    for (let refusals = 0; ;) {
      await publicClient.simulateContract({ address: registry.address, abi: anyRegistryFunction, functionName, args, account: config.account });
      const nonce = await publicClient.getTransactionCount({ address: config.account.address, blockTag: "pending" });
      const request = await walletClient.prepareTransactionRequest({
        to: registry.address,
        data: encodeFunctionData({ abi: anyRegistryFunction, functionName, args }),
        nonce,
        chain: null,
      });
      const signed = await walletClient.signTransaction({ ...request, chain: null });
      const hash = keccak256(signed);
      // "Nonce too low" also answers a transport's retry of ours once the first went through.
      const refused = (await broadcastRawTransaction(publicClient, once, signed)) === "dropped" && !(await findTransactionReceipt(publicClient, once, hash));
      // The wait resolves with a replacement's receipt when another transaction with our nonce took its place: ours never landed.
      const receipt = refused ? undefined : await publicClient.waitForTransactionReceipt({ hash, timeout: config.chain.receiptTimeoutMs });
      if (!receipt || receipt.transactionHash !== hash) {
        if (++refusals >= nonceRefusalsPerStep) throw new RegisterNonceError(step, refusals);
        await sleep(config.chain.pollingIntervalMs * refusals);
        continue;
      }
      if (receipt.status !== "success") throw new Error(`${step} transaction ${hash} reverted`);
      transactions.push({ step, hash });
      parameters.onTransaction?.(step, hash);
      return;
    }
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
