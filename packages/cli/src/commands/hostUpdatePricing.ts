import { nodeRegistryWithModelsAbi } from "@session-jobs/contracts/abis";
import type { Command } from "../command.ts";
import { walletFor, sendContractCall } from "../connection.ts";
import { CliError } from "../errors.ts";
import { connectHostChain, hostConfigOptions, loadHostConfigFromOptions } from "../hostConfig.ts";
import { parseIntegerOption } from "../parse.ts";

export const hostUpdatePricingCommand: Command = {
  path: ["host", "update-pricing"],
  summary: "change the host's minimum prices on chain",
  options: {
    ...hostConfigOptions,
    price: { type: "string", description: "new minimum USDC base units per token (100..100000)" },
    "price-native": { type: "string", description: "new minimum wei per token for ETH sessions" },
  },
  async run(common, values) {
    const price = typeof values.price === "string" ? parseIntegerOption("price", values.price, { min: 1n }) : undefined;
    const priceNative = typeof values["price-native"] === "string" ? parseIntegerOption("price-native", values["price-native"], { min: 1n }) : undefined;
    if (price === undefined && priceNative === undefined) throw new CliError("give --price, --price-native or both");
    const config = loadHostConfigFromOptions(common, values);
    const connection = await connectHostChain(common, config);
    const wallet = walletFor(connection, config.account);
    const registry = { address: config.contracts.nodeRegistry, abi: nodeRegistryWithModelsAbi } as const;
    const transactions: { functionName: string; transactionHash: string }[] = [];
    if (price !== undefined) {
      const receipt = await sendContractCall(common, connection, wallet, `setting the minimum to ${price} USDC units/token`, { ...registry, functionName: "updatePricing", args: [price] });
      transactions.push({ functionName: "updatePricing", transactionHash: receipt.transactionHash });
      common.logger.info(`minimum price ${price} USDC units/token (transaction ${receipt.transactionHash})`);
    }
    if (priceNative !== undefined) {
      const receipt = await sendContractCall(common, connection, wallet, `setting the native minimum to ${priceNative} wei/token`, { ...registry, functionName: "updatePricingNative", args: [priceNative] });
      transactions.push({ functionName: "updatePricingNative", transactionHash: receipt.transactionHash });
      common.logger.info(`minimum native price ${priceNative} wei/token (transaction ${receipt.transactionHash})`);
    }
    common.logger.result({ host: config.account.address, minPricePerToken: price, minPricePerTokenNative: priceNative, transactions });
    common.logger.info("update pricing in the host config too, or the next `host register` sets it back");
  },
};
