import { parseEventLogs } from "viem";
import { hostEarningsAbi } from "@session-jobs/contracts/abis";
import type { Command } from "../command.ts";
import { sendContractCall, walletFor } from "../connection.ts";
import { assetDisplay, formatAmount } from "../format.ts";
import { hostAssets } from "../hostAssets.ts";
import { connectHostChain, hostConfigOptions, loadHostConfigFromOptions, requireHostEarnings } from "../hostConfig.ts";
import { hostAssetsOption } from "./hostEarnings.ts";

export const hostWithdrawCommand: Command = {
  path: ["host", "withdraw"],
  summary: "withdraw the host's whole balance of each asset from HostEarnings",
  options: { ...hostConfigOptions, ...hostAssetsOption },
  async run(common, values) {
    const config = loadHostConfigFromOptions(common, values);
    const { assets, usdc } = hostAssets(values);
    const hostEarnings = requireHostEarnings(config);
    const connection = await connectHostChain(common, config);
    const wallet = walletFor(connection, config.account);
    const call =
      assets.length === 1
        ? ({ functionName: "withdrawAll", args: [assets[0]!] } as const)
        : ({ functionName: "withdrawMultiple", args: [assets] } as const);
    const receipt = await sendContractCall(common, connection, wallet, `withdrawing to ${config.account.address}`, { address: hostEarnings, abi: hostEarningsAbi, ...call });
    const withdrawn = parseEventLogs({ abi: hostEarningsAbi, logs: receipt.logs, eventName: "EarningsWithdrawn" }).filter((log) => log.address.toLowerCase() === hostEarnings.toLowerCase());
    common.logger.info(`withdrawal transaction ${receipt.transactionHash}`);
    for (const log of withdrawn) common.logger.info(`  withdrew ${formatAmount(log.args.amount, assetDisplay(log.args.token, usdc))}`);
    if (withdrawn.length === 0) common.logger.info("  nothing to withdraw");
  },
};
