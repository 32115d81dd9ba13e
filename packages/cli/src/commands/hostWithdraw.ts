import { parseEventLogs } from "viem";
import { hostEarningsAbi } from "@session-jobs/contracts/abis";
import type { Command } from "../command.ts";
import { sendContractCall, walletFor } from "../connection.ts";
import { assetDisplay, formatAmount } from "../format.ts";
import { connectHostEarnings, hostEarningsOptions } from "../hostEarningsContext.ts";

export const hostWithdrawCommand: Command = {
  path: ["host", "withdraw"],
  summary: "withdraw the host's whole balance of each asset from HostEarnings",
  options: hostEarningsOptions,
  async run(common, values) {
    const { config, connection, hostEarnings, assets, usdc } = await connectHostEarnings(common, values);
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
