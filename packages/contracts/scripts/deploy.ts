/**
 * Deploys the five Session Jobs contracts to any RPC and writes deployments/<chainId>.json.
 *
 *   npm run deploy -w packages/contracts -- --rpc-url http://127.0.0.1:8545 [--treasury 0x…] [--test-usdc] [--out f.json] [--force] [--dry-run]
 *
 * The deployer key comes from SESSION_JOBS_PRIVATE_KEY, as for the CLI (never a flag: shells keep
 * history); the old name SESSION_JOBS_DEPLOYER_PRIVATE_KEY still works, with a warning.
 * `--out` is checked before anything is sent; an existing file is kept unless --force.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createPublicClient, createWalletClient, formatEther, http, isAddress, isHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DeploymentIncompleteError, deploySessionJobs, simulateDeployment } from "../ts/deploy.ts";
import { checkDeploymentOutput, describeDeploymentAddresses, writeDeploymentFile } from "../ts/deploymentFile.ts";

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}

async function main() {
  const { values } = parseArgs({
    options: {
      "rpc-url": { type: "string" },
      treasury: { type: "string" },
      "test-usdc": { type: "boolean" },
      out: { type: "string" },
      force: { type: "boolean" },
      "dry-run": { type: "boolean" },
    },
  });
  const rpcUrl = values["rpc-url"] ?? process.env.SESSION_JOBS_RPC_URL ?? fail("missing --rpc-url (or SESSION_JOBS_RPC_URL)");
  const deprecatedKey = process.env.SESSION_JOBS_DEPLOYER_PRIVATE_KEY;
  if (deprecatedKey !== undefined && process.env.SESSION_JOBS_PRIVATE_KEY === undefined)
    console.warn("warning: SESSION_JOBS_DEPLOYER_PRIVATE_KEY is deprecated: use SESSION_JOBS_PRIVATE_KEY");
  const key = process.env.SESSION_JOBS_PRIVATE_KEY ?? deprecatedKey ?? fail("missing SESSION_JOBS_PRIVATE_KEY");
  if (!isHex(key) || key.length !== 66) fail("SESSION_JOBS_PRIVATE_KEY is not a 32-byte hex key");
  if (values.treasury !== undefined && !isAddress(values.treasury)) fail(`--treasury "${values.treasury}" is not an address`);

  const transport = http(rpcUrl, { retryCount: 0 });
  const publicClient = createPublicClient({ transport, pollingInterval: 100 });
  const chainId = await publicClient.getChainId().catch(() => fail(`cannot reach an RPC at ${rpcUrl}`));
  const account = privateKeyToAccount(key);
  const out = values.out ?? join(packageRoot, "deployments", `${chainId}.json`);
  try {
    checkDeploymentOutput(out, { force: values.force });
  } catch (error) {
    fail((error as Error).message);
  }
  const options = { publicClient, treasury: values.treasury, deployTestUsdc: values["test-usdc"] };

  if (values["dry-run"]) {
    const simulated = await simulateDeployment({ ...options, rpcUrl, account: account.address });
    for (const step of simulated.steps) console.log(`${step.name.padEnd(46)} gas ${step.gasUsed}`);
    console.log(
      `total gas ${simulated.totalGas} ≈ ${formatEther(simulated.totalGas * simulated.gasPrice)} ETH; balance ${formatEther(simulated.balance)} ETH; nothing sent`,
    );
    console.log(describeDeploymentAddresses(simulated.deployment).join("\n"));
    return;
  }

  const abort = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => abort.abort(new Error(`${signal}`)));
  const deployment = await deploySessionJobs({
    ...options,
    walletClient: createWalletClient({ account, transport }),
    signal: abort.signal,
    onStep: (step) =>
      console.log(`✔ ${step.name.padEnd(46)} ${step.address ? `at ${step.address}` : ""} (transaction ${step.transactionHash}, gas ${step.gasUsed})`),
  }).catch((error: unknown) => {
    if (error instanceof DeploymentIncompleteError)
      fail(`${error.message}${error.pendingTransaction ? `; transaction ${error.pendingTransaction} may still be mined` : ""}`);
    throw error;
  });
  console.log(describeDeploymentAddresses(deployment).join("\n"));
  writeDeploymentFile(out, deployment);
  console.log(`deployment written to ${out}`);
}

await main();
