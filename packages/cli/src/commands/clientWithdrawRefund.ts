import { withdrawRefund } from "@session-jobs/sdk";
import { jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";
import type { Command } from "../command.ts";
import { parseAssetListOption, readAssetDisplay } from "../assets.ts";
import { connectDeployment, connectionOptions, signingWallet } from "../connection.ts";
import { formatAmount } from "../format.ts";
import { parseAddressOption } from "../parse.ts";

export const clientWithdrawRefundCommand: Command = {
  path: ["client", "withdraw-refund"],
  summary: "withdraw refunds the marketplace could not push at settlement (`client list` shows them); nothing pending sends nothing",
  options: {
    ...connectionOptions,
    assets: { type: "string", description: "comma-separated: eth, usdc or token addresses (default eth and the deployment's usdc)" },
    to: { type: "string", description: "send the refund to this address instead of the signer's" },
  },
  async run(common, values) {
    const to = typeof values.to === "string" ? parseAddressOption("to", values.to) : undefined;
    const connection = await connectDeployment(common, clientWithdrawRefundCommand, values);
    const { deployment, publicClient } = connection;
    const assets = parseAssetListOption("assets", typeof values.assets === "string" ? values.assets : undefined, deployment);
    const wallet = signingWallet(common, connection);
    const depositor = wallet.account.address;
    const pending = await Promise.all(
      assets.map((token) =>
        publicClient.readContract({
          address: deployment.jobMarketplace,
          abi: jobMarketplaceWithModelsAbi,
          functionName: "pendingRefunds",
          args: [depositor, token],
        }),
      ),
    );
    const due = assets.filter((_, index) => pending[index]! > 0n);
    const withdrawn = [];
    for (const token of due) {
      const asset = await readAssetDisplay(publicClient, token, deployment);
      const result = await common.logger.progress(`withdrawing the pending ${asset.symbol} refund of ${depositor}`, () =>
        withdrawRefund(wallet, { marketplace: deployment.jobMarketplace, token, to }),
      );
      withdrawn.push(result);
      common.logger.info(`withdrew ${formatAmount(result.amount, asset)} to ${result.to} (transaction ${result.transactionHash})`);
    }
    common.logger.result({ depositor, withdrawn });
    if (due.length === 0) common.logger.info(`no refund is waiting for ${depositor}: nothing sent`);
  },
};
