import { hostEarningsAbi } from "@session-jobs/contracts/abis";
import type { Command } from "../command.ts";
import { assetDisplay, formatAmount, table } from "../format.ts";
import { connectHostEarnings, hostEarningsOptions } from "../hostEarningsContext.ts";

export const hostEarningsCommand: Command = {
  path: ["host", "earnings"],
  summary: "show the host's balances in HostEarnings (90% of every settled session)",
  options: hostEarningsOptions,
  async run(common, values) {
    const { config, connection, hostEarnings, assets, usdc } = await connectHostEarnings(common, values);
    const host = config.account.address;
    const balances = await connection.publicClient.readContract({ address: hostEarnings, abi: hostEarningsAbi, functionName: "getBalances", args: [host, assets] });
    common.logger.info(`earnings of host ${host}`);
    common.logger.info(table([["asset", "balance"], ...assets.map((asset, index) => [assetDisplay(asset, usdc).symbol, formatAmount(balances[index]!, assetDisplay(asset, usdc))])]));
  },
};
