import { join } from "node:path";
import { formatEther } from "viem";
import { DeploymentIncompleteError, deploySessionJobs, simulateDeployment } from "@session-jobs/contracts/deploy";
import { checkDeploymentOutput, describeDeploymentAddresses, writeDeploymentFile } from "@session-jobs/contracts/deployment-file";
import type { Command } from "../command.ts";
import { connectRpc, rpcUrlOption, signingAccount, walletFor } from "../connection.ts";
import { CliError } from "../errors.ts";
import { table } from "../format.ts";
import { parseAddressOption } from "../parse.ts";

export const deployCommand: Command = {
  path: ["deploy"],
  summary: "deploy the five contracts (key from SESSION_JOBS_PRIVATE_KEY) and write the deployment JSON",
  options: {
    ...rpcUrlOption,
    treasury: { type: "string", description: "address that receives the 10% fee (default: the deployer)" },
    "test-usdc": { type: "boolean", description: "also deploy TestUSDC and accept it (local and test chains)" },
    "stable-token": { type: "string", description: "an existing ERC-20 to accept as the stable asset instead" },
    out: { type: "string", description: "where to write the deployment JSON (default deployments/<chainId>.json); checked before anything is sent" },
    force: { type: "boolean", description: "overwrite --out if it exists" },
    "dry-run": { type: "boolean", description: "simulate every transaction and print its gas; send nothing" },
  },
  async run(common, values) {
    const treasury = typeof values.treasury === "string" ? parseAddressOption("treasury", values.treasury) : undefined;
    const stableToken = typeof values["stable-token"] === "string" ? parseAddressOption("stable-token", values["stable-token"]) : undefined;
    if (stableToken && values["test-usdc"] === true) throw new CliError("give either --test-usdc or --stable-token, not both");
    const account = signingAccount(common);
    // Before anything is sent: a deployment that cannot be saved is a deployment lost.
    const checked = (path: string) => (checkDeploymentOutput(path, { force: values.force === true }), path);
    const givenOut = typeof values.out === "string" ? checked(values.out) : undefined;
    const connection = await connectRpc(common, deployCommand, values);
    const out = givenOut ?? checked(join("deployments", `${connection.chainId}.json`));
    const options = { publicClient: connection.publicClient, treasury, deployTestUsdc: values["test-usdc"] === true, stableToken };

    if (values["dry-run"] === true) {
      const simulated = await common.logger.progress(`simulating the deployment from ${account.address} on chain ${connection.chainId}`, () =>
        simulateDeployment({ ...options, rpcUrl: connection.rpcUrl, account: account.address, signal: common.signal }),
      );
      const cost = simulated.totalGas * simulated.gasPrice;
      common.logger.result({ dryRun: true, ...simulated, cost, out });
      common.logger.info(
        table([["step (simulated on a fork)", "creates", "gas"], ...simulated.steps.map((step) => [step.name, step.address ?? "-", step.gasUsed.toString()])]),
      );
      common.logger.info(
        `total gas ${simulated.totalGas} × ${simulated.gasPrice} wei = ${formatEther(cost)} ETH at the current gas price; deployer balance ${formatEther(simulated.balance)} ETH`,
      );
      if (simulated.balance < cost) common.logger.warn(`the deployer ${account.address} has less than the estimated cost`);
      common.logger.info("dry run: nothing was sent. Addresses hold if the deployer sends nothing else first.");
      common.logger.info(describeDeploymentAddresses(simulated.deployment).join("\n"));
      return;
    }

    const wallet = walletFor(connection, account);
    const deployment = await common.logger
      .progress(`deploying from ${account.address} on chain ${connection.chainId}`, () =>
        deploySessionJobs({
          ...options,
          walletClient: wallet,
          signal: common.signal,
          onStep: (step) =>
            common.logger.info(
              `  ${step.name.padEnd(46)} ${step.address ? `at ${step.address}` : "done".padEnd(45)}  (transaction ${step.transactionHash}, gas ${step.gasUsed})`,
            ),
        }),
      )
      .catch((error: unknown) => {
        if (!(error instanceof DeploymentIncompleteError)) throw error;
        const created = error.completed.filter((step) => step.address).map((step) => `${step.name} at ${step.address}`);
        throw new CliError(
          `${error.message}${error.pendingTransaction ? `; transaction ${error.pendingTransaction} was sent and may still be mined` : ""}`,
          created.length > 0 ? `already on chain: ${created.join(", ")}; a new deploy starts over` : "nothing was deployed",
        );
      });
    common.logger.result({ ...deployment, out });
    common.logger.info(`\ndeployed on chain ${deployment.chainId}:`);
    common.logger.info(describeDeploymentAddresses(deployment).join("\n"));
    common.logger.info(`treasury ${deployment.treasury}, owner ${deployment.owner}`);
    writeDeploymentFile(out, deployment);
    common.logger.info(`deployment written to ${out}`);
  },
};
