import { parseEventLogs, zeroAddress } from "viem";
import { jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";
import type { Command } from "../command.ts";
import { parseAssetListOption } from "../assets.ts";
import { connectDeployment, connectionOptions, sendContractCall, signingWallet } from "../connection.ts";
import { CliError } from "../errors.ts";
import { assetDisplay, formatAmount } from "../format.ts";

export const treasuryWithdrawCommand: Command = {
  path: ["treasury", "withdraw"],
  summary: "withdraw the accumulated 10% fees to the treasury (treasury key from SESSION_JOBS_PRIVATE_KEY)",
  options: {
    ...connectionOptions,
    assets: { type: "string", description: "comma-separated: eth, usdc or token addresses (default eth and the deployment's usdc)" },
  },
  async run(common, values) {
    const connection = await connectDeployment(common, treasuryWithdrawCommand, values);
    const { deployment } = connection;
    const assets = parseAssetListOption("assets", typeof values.assets === "string" ? values.assets : undefined, deployment);
    const wallet = signingWallet(common, connection);
    const treasury = await connection.publicClient.readContract({
      address: deployment.jobMarketplace,
      abi: jobMarketplaceWithModelsAbi,
      functionName: "treasury",
    });
    if (wallet.account.address.toLowerCase() !== treasury.toLowerCase())
      throw new CliError(`SESSION_JOBS_PRIVATE_KEY is the key of ${wallet.account.address}, not of the treasury ${treasury}`);
    const marketplace = { address: deployment.jobMarketplace, abi: jobMarketplaceWithModelsAbi } as const;
    const accumulated = await Promise.all(
      assets.map((token) =>
        token === zeroAddress
          ? connection.publicClient.readContract({ ...marketplace, functionName: "accumulatedTreasuryETH" })
          : connection.publicClient.readContract({ ...marketplace, functionName: "accumulatedTreasuryTokens", args: [token] }),
      ),
    );
    const due = assets.filter((_, index) => accumulated[index]! > 0n);
    if (due.length === 0) {
      common.logger.result({ treasury, transactionHash: null, withdrawn: [] });
      common.logger.info(`nothing to withdraw for the treasury ${treasury}: no transaction sent`);
      return;
    }
    const receipt = await sendContractCall(common, connection, wallet, `withdrawing treasury fees to ${treasury}`, {
      ...marketplace,
      functionName: "withdrawTreasuryFees",
      args: [due],
    });
    const withdrawn = parseEventLogs({ abi: jobMarketplaceWithModelsAbi, logs: receipt.logs, eventName: "TreasuryFeesWithdrawn" });
    common.logger.result({
      treasury,
      transactionHash: receipt.transactionHash,
      withdrawn: withdrawn.map((log) => ({ token: log.args.token, amount: log.args.amount })),
    });
    common.logger.info(`withdrawal transaction ${receipt.transactionHash}`);
    for (const log of withdrawn) common.logger.info(`  withdrew ${formatAmount(log.args.amount, assetDisplay(log.args.token, deployment.usdc))}`);
  },
};
