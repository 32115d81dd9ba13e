import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { deploySessionJobs } from "@session-jobs/contracts/deploy";
import type { Command } from "../command.ts";
import { connectRpc, rpcUrlOption, signingWallet } from "../connection.ts";
import { parseAddressOption } from "../parse.ts";

export const deployCommand: Command = {
  path: ["deploy"],
  summary: "deploy the five contracts (key from SESSION_JOBS_PRIVATE_KEY) and write the deployment JSON",
  options: {
    ...rpcUrlOption,
    treasury: { type: "string", description: "address that receives the 10% fee (default: the deployer)" },
    "test-usdc": { type: "boolean", description: "also deploy TestUSDC and accept it (local and test chains)" },
    "stable-token": { type: "string", description: "an existing ERC-20 to accept as the stable asset instead" },
    out: { type: "string", description: "where to write the deployment JSON (default deployments/<chainId>.json)" },
  },
  async run(common, values) {
    const treasury = typeof values.treasury === "string" ? parseAddressOption("treasury", values.treasury) : undefined;
    const stableToken = typeof values["stable-token"] === "string" ? parseAddressOption("stable-token", values["stable-token"]) : undefined;
    const connection = await connectRpc(common, deployCommand, values);
    const wallet = signingWallet(common, connection);
    const deployment = await common.logger.progress(`deploying from ${wallet.account.address} on chain ${connection.chainId}`, () =>
      deploySessionJobs({
        walletClient: wallet,
        publicClient: connection.publicClient,
        treasury,
        deployTestUsdc: values["test-usdc"] === true,
        stableToken,
        onStep: (step, hash, gasUsed) => common.logger.info(`  ${step.padEnd(48)} ${hash}  gas ${gasUsed}`),
      }),
    );
    const out = typeof values.out === "string" ? values.out : join("deployments", `${deployment.chainId}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(deployment, null, 2)}\n`);
    common.logger.info(`marketplace ${deployment.jobMarketplace}, treasury ${deployment.treasury}${deployment.usdc ? `, USDC ${deployment.usdc}` : ""}`);
    common.logger.info(`deployment written to ${out}`);
  },
};
