import { zeroAddress, type Address } from "viem";
import { getHostInfo, getNodePricing } from "@session-jobs/sdk";
import type { Command } from "../command.ts";
import { parseAssetListOption, readAssetDisplay } from "../assets.ts";
import { connectDeployment, connectionOptions } from "../connection.ts";
import { formatAmount, table } from "../format.ts";
import { parseAddressOption } from "../parse.ts";
import { requireString } from "../command.ts";

export const clientPricingCommand: Command = {
  path: ["client", "pricing"],
  summary: "show a host's registration, its terms (largest checkpoint interval) and minimum price per token and minimum deposit for each asset",
  options: {
    ...connectionOptions,
    host: { type: "string", description: "the host's address" },
    assets: { type: "string", description: "comma-separated: eth, usdc or token addresses (default eth and the deployment's usdc)" },
  },
  async run(common, values) {
    const host = parseAddressOption("host", requireString(clientPricingCommand, values, "host"));
    const connection = await connectDeployment(common, clientPricingCommand, values);
    const { deployment, publicClient } = connection;
    const assets: Address[] = parseAssetListOption("assets", typeof values.assets === "string" ? values.assets : undefined, deployment);
    const info = await getHostInfo(publicClient, { nodeRegistry: deployment.nodeRegistry, host });
    const minDeposits = await Promise.all(
      assets.map(
        async (token) => (token === zeroAddress ? info : await getHostInfo(publicClient, { nodeRegistry: deployment.nodeRegistry, host, token })).minDeposit,
      ),
    );
    const [stable, ...perAsset] = await Promise.all([
      getNodePricing(publicClient, { nodeRegistry: deployment.nodeRegistry, host }),
      ...assets.map((token) => getNodePricing(publicClient, { nodeRegistry: deployment.nodeRegistry, host, token })),
    ]);
    const displays = await Promise.all(assets.map((token) => readAssetDisplay(publicClient, token, deployment)));
    common.logger.result({
      ...info,
      stableMinimum: stable,
      minimums: assets.map((token, index) => ({ token, symbol: displays[index]!.symbol, pricePerToken: perAsset[index]!, minDeposit: minDeposits[index]! })),
    });
    common.logger.info(`host ${info.address} (${info.active ? "active" : "inactive"}) at ${info.apiUrl}`);
    common.logger.info(`models: ${info.modelIds.join(", ") || "none"}`);
    common.logger.info(`stable minimum (getNodePricing): ${stable} base units/token`);
    common.logger.info(`largest checkpoint interval accepted: ${info.maxCheckpointInterval} tokens`);
    common.logger.info(
      table([
        ["asset", "minimum per token", "base units", "minimum deposit"],
        ...assets.map((token, index) => [
          token === zeroAddress ? "ETH" : displays[index]!.symbol,
          formatAmount(perAsset[index]!, displays[index]!),
          perAsset[index]!.toString(),
          minDeposits[index] === 0n ? "none" : formatAmount(minDeposits[index]!, displays[index]!),
        ]),
      ]),
    );
  },
};
