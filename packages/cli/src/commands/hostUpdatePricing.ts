import { nodeRegistryWithModelsAbi } from "@session-jobs/contracts/abis";
import type { Address } from "viem";
import type { Command } from "../command.ts";
import { parseAssetOption, readAssetDisplay } from "../assets.ts";
import { walletFor, sendContractCall } from "../connection.ts";
import { CliError } from "../errors.ts";
import { formatAmount } from "../format.ts";
import { connectHostChain, hostConfigOptions, hostDeploymentUsdc, loadHostConfigFromOptions } from "../hostConfig.ts";
import { parseAmountOption, parseIntegerOption } from "../parse.ts";

export const hostUpdatePricingCommand: Command = {
  path: ["host", "update-pricing"],
  summary: "change the host's minimum prices, minimum deposit per asset and largest checkpoint interval on chain",
  options: {
    ...hostConfigOptions,
    price: { type: "string", description: "new minimum USDC base units per token (100..100000)" },
    "price-native": { type: "string", description: "new minimum wei per token for ETH sessions" },
    "max-checkpoint-interval": { type: "string", description: "largest checkpoint interval accepted for new sessions, 100..1000000 tokens" },
    "min-deposit": { type: "string", description: "smallest deposit accepted for new sessions in --asset, in whole units (1 for 1 USDC; 0 clears it)" },
    asset: { type: "string", description: "the asset --min-deposit is for: eth, usdc or a token address" },
  },
  async run(common, values) {
    const price = typeof values.price === "string" ? parseIntegerOption("price", values.price, { min: 1n }) : undefined;
    const priceNative = typeof values["price-native"] === "string" ? parseIntegerOption("price-native", values["price-native"], { min: 1n }) : undefined;
    const maxInterval =
      typeof values["max-checkpoint-interval"] === "string"
        ? parseIntegerOption("max-checkpoint-interval", values["max-checkpoint-interval"], { min: 100n, max: 1_000_000n })
        : undefined;
    const minDepositText = typeof values["min-deposit"] === "string" ? values["min-deposit"] : undefined;
    if (minDepositText !== undefined && typeof values.asset !== "string")
      throw new CliError("--min-deposit needs --asset", "name the asset it is for: --asset eth, --asset usdc or --asset <token address>");
    if (minDepositText === undefined && typeof values.asset === "string") throw new CliError("--asset goes with --min-deposit");
    if (price === undefined && priceNative === undefined && maxInterval === undefined && minDepositText === undefined)
      throw new CliError("give --price, --price-native, --max-checkpoint-interval, --min-deposit with --asset, or several");
    const deployment = hostDeploymentUsdc(values);
    const token: Address | undefined = typeof values.asset === "string" ? parseAssetOption("asset", values.asset, deployment) : undefined;
    const config = loadHostConfigFromOptions(common, values);
    const connection = await connectHostChain(common, config);
    const asset = token === undefined ? undefined : await readAssetDisplay(connection.publicClient, token, deployment);
    const minDeposit = minDepositText === undefined || asset === undefined ? undefined : parseAmountOption("min-deposit", minDepositText, asset.decimals);
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
    if (minDeposit !== undefined && token !== undefined && asset !== undefined) {
      const receipt = await sendContractCall(common, connection, wallet, `setting the minimum deposit to ${formatAmount(minDeposit, asset)}`, {
        ...registry,
        functionName: "updateMinDeposit",
        args: [token, minDeposit],
      });
      transactions.push({ functionName: "updateMinDeposit", transactionHash: receipt.transactionHash });
      common.logger.info(`minimum deposit ${formatAmount(minDeposit, asset)} (transaction ${receipt.transactionHash})`);
    }
    common.logger.result({
      host: config.account.address,
      minPricePerToken: price,
      minPricePerTokenNative: priceNative,
      maxCheckpointInterval: maxInterval,
      minDeposit: minDeposit === undefined ? undefined : { token, amount: minDeposit },
      transactions,
    });
    if (price !== undefined || priceNative !== undefined || maxInterval !== undefined)
      common.logger.info("update pricing and limits.maxCheckpointInterval in the host config too, or the next `host register` sets them back");
  },
};
