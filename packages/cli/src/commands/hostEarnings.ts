import { hostEarningsAbi } from "@session-jobs/contracts/abis";
import type { Command } from "../command.ts";
import { assetDisplay, formatAmount, table } from "../format.ts";
import { hostAssets } from "../hostAssets.ts";
import { connectHostChain, hostConfigOptions, loadHostConfigFromOptions, requireHostEarnings } from "../hostConfig.ts";

/** `--assets`, shared by `host earnings` and `host withdraw`. */
export const hostAssetsOption = {
  assets: { type: "string", description: "comma-separated: eth, usdc or token addresses (default eth and the deployment's usdc)" },
} as const satisfies Command["options"];

export const hostEarningsCommand: Command = {
  path: ["host", "earnings"],
  summary: "show the host's balances in HostEarnings (90% of every settled session)",
  options: { ...hostConfigOptions, ...hostAssetsOption },
  async run(common, values) {
    const config = loadHostConfigFromOptions(common, values);
    const { assets, usdc } = hostAssets(values);
    const hostEarnings = requireHostEarnings(config);
    const connection = await connectHostChain(common, config);
    const host = config.account.address;
    const balances = await connection.publicClient.readContract({ address: hostEarnings, abi: hostEarningsAbi, functionName: "getBalances", args: [host, assets] });
    common.logger.info(`earnings of host ${host}`);
    common.logger.info(table([["asset", "balance"], ...assets.map((asset, index) => [assetDisplay(asset, usdc).symbol, formatAmount(balances[index]!, assetDisplay(asset, usdc))])]));
  },
};
