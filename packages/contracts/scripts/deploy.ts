/**
 * Deploys the five Session Jobs contracts to any RPC and writes deployments/<chainId>.json.
 *
 *   npm run deploy -w packages/contracts -- --rpc-url http://127.0.0.1:8545 [--treasury 0x…] [--test-usdc]
 *
 * The deployer key comes from SESSION_JOBS_PRIVATE_KEY, as for the CLI (never a flag: shells keep
 * history); the old name SESSION_JOBS_DEPLOYER_PRIVATE_KEY still works, with a warning.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createPublicClient, createWalletClient, http, isAddress, isHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { deploySessionJobs } from "../ts/deploy.ts";

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}

async function main() {
  const { values } = parseArgs({
    options: { "rpc-url": { type: "string" }, treasury: { type: "string" }, "test-usdc": { type: "boolean" }, out: { type: "string" } },
  });
  const rpcUrl = values["rpc-url"] ?? process.env.SESSION_JOBS_RPC_URL ?? fail("missing --rpc-url (or SESSION_JOBS_RPC_URL)");
  const deprecatedKey = process.env.SESSION_JOBS_DEPLOYER_PRIVATE_KEY;
  if (deprecatedKey !== undefined && process.env.SESSION_JOBS_PRIVATE_KEY === undefined) console.warn("warning: SESSION_JOBS_DEPLOYER_PRIVATE_KEY is deprecated: use SESSION_JOBS_PRIVATE_KEY");
  const key = process.env.SESSION_JOBS_PRIVATE_KEY ?? deprecatedKey ?? fail("missing SESSION_JOBS_PRIVATE_KEY");
  if (!isHex(key) || key.length !== 66) fail("SESSION_JOBS_PRIVATE_KEY is not a 32-byte hex key");
  if (values.treasury !== undefined && !isAddress(values.treasury)) fail(`--treasury "${values.treasury}" is not an address`);

  const transport = http(rpcUrl);
  const publicClient = createPublicClient({ transport, pollingInterval: 100 });
  const chainId = await publicClient.getChainId().catch(() => fail(`cannot reach an RPC at ${rpcUrl}`));
  const walletClient = createWalletClient({ account: privateKeyToAccount(key), transport });
  const deployment = await deploySessionJobs({
    walletClient,
    publicClient,
    treasury: values.treasury as `0x${string}` | undefined,
    deployTestUsdc: values["test-usdc"],
    onStep: (step, hash, gasUsed) => console.log(`✔ ${step.padEnd(48)} ${hash} gas ${gasUsed}`),
  });
  const out = values.out ?? join(packageRoot, "deployments", `${chainId}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(deployment, null, 2)}\n`);
  console.log(`deployment written to ${out}`);
}

await main();
