import { testUsdcAbi } from "@session-jobs/contracts/abis";
import { requireString, type Command } from "../command.ts";
import { connectDeployment, connectionOptions, sendContractCall, signingWallet } from "../connection.ts";
import { CliError } from "../errors.ts";
import { formatAmount } from "../format.ts";
import { parseAddressOption, parseAmountOption } from "../parse.ts";

/** Chain ids of local development chains (anvil and hardhat use 31337, ganache and geth --dev 1337). */
export const developmentChainIds: readonly number[] = [31337, 1337];

const usdc = { symbol: "USDC", decimals: 6 } as const;

export const devMintCommand: Command = {
  path: ["dev", "mint"],
  summary: "mint the deployment's TestUSDC on a development chain (refused on any other chain)",
  options: {
    ...connectionOptions,
    amount: { type: "string", description: "USDC to mint, in whole units (100 for 100 USDC)" },
    to: { type: "string", description: "recipient (default: the address of SESSION_JOBS_PRIVATE_KEY)" },
  },
  async run(common, values) {
    const amount = parseAmountOption("amount", requireString(devMintCommand, values, "amount"), usdc.decimals);
    if (amount === 0n) throw new CliError("--amount: mint more than 0");
    const connection = await connectDeployment(common, devMintCommand, values);
    if (!developmentChainIds.includes(connection.chainId))
      throw new CliError(
        `chain ${connection.chainId} is not a development chain (${developmentChainIds.join(", ")}): nothing minted`,
        "on a real network, get USDC from a faucet or an exchange",
      );
    const token = connection.deployment.usdc;
    if (!token) throw new CliError("this deployment has no USDC", "deploy with `session-jobs deploy --test-usdc`");
    const wallet = signingWallet(common, connection);
    const to = typeof values.to === "string" ? parseAddressOption("to", values.to) : wallet.account.address;
    const receipt = await sendContractCall(common, connection, wallet, `minting ${formatAmount(amount, usdc)} to ${to}`, {
      address: token,
      abi: testUsdcAbi,
      functionName: "mint",
      args: [to, amount],
    });
    common.logger.result({ token, to, amount, transactionHash: receipt.transactionHash });
    common.logger.info(`minted ${formatAmount(amount, usdc)} to ${to} (transaction ${receipt.transactionHash})`);
  },
};
