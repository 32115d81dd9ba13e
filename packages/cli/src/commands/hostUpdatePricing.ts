import { nodeRegistryWithModelsAbi } from "@session-jobs/contracts/abis";
import type { Command } from "../command.ts";
import { walletFor, sendContractCall } from "../connection.ts";
import { CliError } from "../errors.ts";
import { connectHostChain, hostConfigOptions, loadHostConfigFromOptions } from "../hostConfig.ts";
import { parseIntegerOption } from "../parse.ts";

export const hostUpdatePricingCommand: Command = {
  path: ["host", "update-pricing"],
  summary: "change the host's minimum prices and largest checkpoint interval on chain",
  options: {
    ...hostConfigOptions,
    price: { type: "string", description: "new minimum USDC base units per token (100..100000)" },
    "price-native": { type: "string", description: "new minimum wei per token for ETH sessions" },
    "max-checkpoint-interval": { type: "string", description: "largest checkpoint interval accepted for new sessions, 100..1000000 tokens" },
  },
  async run(common, values) {
    const price = typeof values.price === "string" ? parseIntegerOption("price", values.price, { min: 1n }) : undefined;
    const priceNative = typeof values["price-native"] === "string" ? parseIntegerOption("price-native", values["price-native"], { min: 1n }) : undefined;
    const maxInterval =
      typeof values["max-checkpoint-interval"] === "string"
        ? parseIntegerOption("max-checkpoint-interval", values["max-checkpoint-interval"], { min: 100n, max: 1_000_000n })
        : undefined;
    if (price === undefined && priceNative === undefined && maxInterval === undefined)
      throw new CliError("give --price, --price-native, --max-checkpoint-interval or several");
    const config = loadHostConfigFromOptions(common, values);
    const connection = await connectHostChain(common, config);
    const wallet = walletFor(connection, config.account);
    const registry = { address: config.contracts.nodeRegistry, abi: nodeRegistryWithModelsAbi } as const;
    const transactions: { functionName: string; transactionHash: string }[] = [];
    if (price !== undefined) {
      const receipt = await sendContractCall(common, connection, wallet, `setting the minimum to ${price} USDC units/token`, {
        ...registry,
        functionName: "updatePricing",
        args: [price],
      });
      transactions.push({ functionName: "updatePricing", transactionHash: receipt.transactionHash });
      common.logger.info(`minimum price ${price} USDC units/token (transaction ${receipt.transactionHash})`);
    }
    if (priceNative !== undefined) {
      const receipt = await sendContractCall(common, connection, wallet, `setting the native minimum to ${priceNative} wei/token`, {
        ...registry,
        functionName: "updatePricingNative",
        args: [priceNative],
      });
      transactions.push({ functionName: "updatePricingNative", transactionHash: receipt.transactionHash });
      common.logger.info(`minimum native price ${priceNative} wei/token (transaction ${receipt.transactionHash})`);
    }
    if (maxInterval !== undefined) {
      const receipt = await sendContractCall(common, connection, wallet, `setting the largest checkpoint interval to ${maxInterval} tokens`, {
        ...registry,
        functionName: "updateMaxCheckpointInterval",
        args: [maxInterval],
      });
      transactions.push({ functionName: "updateMaxCheckpointInterval", transactionHash: receipt.transactionHash });
      common.logger.info(`largest checkpoint interval ${maxInterval} tokens (transaction ${receipt.transactionHash})`);
    }
    common.logger.result({
      host: config.account.address,
      minPricePerToken: price,
      minPricePerTokenNative: priceNative,
      maxCheckpointInterval: maxInterval,
      transactions,
    });
    common.logger.info("update pricing and limits.maxCheckpointInterval in the host config too, or the next `host register` sets them back");
  },
};
