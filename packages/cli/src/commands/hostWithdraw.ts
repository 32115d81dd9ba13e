import { parseEventLogs } from "viem";
import { hostEarningsAbi } from "@session-jobs/contracts/abis";
import type { Command } from "../command.ts";
import { sendContractCall, walletFor } from "../connection.ts";
import { assetDisplay, formatAmount } from "../format.ts";
import { connectHostEarnings, hostEarningsOptions } from "../hostEarningsContext.ts";

export const hostWithdrawCommand: Command = {
  path: ["host", "withdraw"],
  summary: "withdraw the host's whole balance of each asset from HostEarnings (nothing to withdraw sends nothing)",
  options: hostEarningsOptions,
  async run(common, values) {
    const { config, connection, hostEarnings, assets, usdc, balances } = await connectHostEarnings(common, values);
    const host = config.account.address;
    const due = assets.filter((_, index) => balances[index]! > 0n);
    if (due.length === 0) {
      common.logger.result({ host, transactionHash: null, withdrawn: [] });
      common.logger.info(`nothing to withdraw for ${host}: no transaction sent`);
      return;
    }
    const wallet = walletFor(connection, config.account);
    const call = due.length === 1 ? ({ functionName: "withdrawAll", args: [due[0]!] } as const) : ({ functionName: "withdrawMultiple", args: [due] } as const);
    const receipt = await sendContractCall(common, connection, wallet, `withdrawing to ${host}`, { address: hostEarnings, abi: hostEarningsAbi, ...call });
    const withdrawn = parseEventLogs({ abi: hostEarningsAbi, logs: receipt.logs, eventName: "EarningsWithdrawn" }).filter(
      (log) => log.address.toLowerCase() === hostEarnings.toLowerCase(),
    );
    common.logger.result({
      host,
      transactionHash: receipt.transactionHash,
      withdrawn: withdrawn.map((log) => ({ token: log.args.token, amount: log.args.amount })),
    });
    common.logger.info(`withdrawal transaction ${receipt.transactionHash}`);
    for (const log of withdrawn) common.logger.info(`  withdrew ${formatAmount(log.args.amount, assetDisplay(log.args.token, usdc))}`);
  },
};
