import { parseEventLogs } from "viem";
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
    const treasury = await connection.publicClient.readContract({ address: deployment.jobMarketplace, abi: jobMarketplaceWithModelsAbi, functionName: "treasury" });
    if (wallet.account.address.toLowerCase() !== treasury.toLowerCase())
      throw new CliError(`SESSION_JOBS_PRIVATE_KEY is the key of ${wallet.account.address}, not of the treasury ${treasury}`);
    const receipt = await sendContractCall(common, connection, wallet, `withdrawing treasury fees to ${treasury}`, {
      address: deployment.jobMarketplace,
      abi: jobMarketplaceWithModelsAbi,
      functionName: "withdrawTreasuryFees",
      args: [assets],
    });
    const withdrawn = parseEventLogs({ abi: jobMarketplaceWithModelsAbi, logs: receipt.logs, eventName: "TreasuryFeesWithdrawn" });
    common.logger.info(`withdrawal transaction ${receipt.transactionHash}`);
    for (const log of withdrawn) common.logger.info(`  withdrew ${formatAmount(log.args.amount, assetDisplay(log.args.token, deployment.usdc))}`);
    if (withdrawn.length === 0) common.logger.info("  nothing to withdraw");
  },
};
