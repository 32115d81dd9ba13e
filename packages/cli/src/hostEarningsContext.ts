import type { Address } from "viem";
import { hostEarningsAbi } from "@session-jobs/contracts/abis";
import type { HostConfig } from "@session-jobs/host";
import type { Command, OptionValues } from "./command.ts";
import type { Common } from "./common.ts";
import { parseAssetListOption } from "./assets.ts";
import type { ChainConnection } from "./connection.ts";
import { CliError } from "./errors.ts";
import { connectHostChain, hostConfigOptions, hostDeploymentUsdc, loadHostConfigFromOptions } from "./hostConfig.ts";

/** Options of the host's money commands: the host config and `--assets`. */
export const hostEarningsOptions = {
  ...hostConfigOptions,
  assets: { type: "string", description: "comma-separated: eth, usdc or token addresses (default eth and the deployment's usdc)" },
} as const satisfies Command["options"];

export type HostEarningsContext = {
  config: HostConfig;
  connection: ChainConnection;
  hostEarnings: Address;
  assets: Address[];
  /** The deployment's USDC, when `--deployment` names one (`usdc` in `--assets`, and display). */
  usdc: Address | undefined;
  /** The host's withdrawable balance of each of `assets`, in the same order. */
  balances: readonly bigint[];
};

/** Loads the host config, resolves `--assets`, connects and reads the host's balances, for `host earnings` and `host withdraw`. */
export async function connectHostEarnings(common: Common, values: OptionValues): Promise<HostEarningsContext> {
  const config = loadHostConfigFromOptions(common, values);
  const deployment = hostDeploymentUsdc(values);
  const assets = parseAssetListOption("assets", typeof values.assets === "string" ? values.assets : undefined, deployment);
  const hostEarnings = config.contracts.hostEarnings;
  if (!hostEarnings) throw new CliError("the host config names no hostEarnings contract", "give --deployment (or contracts.hostEarnings in the config)");
  const connection = await connectHostChain(common, config);
  const balances = await connection.publicClient.readContract({
    address: hostEarnings,
    abi: hostEarningsAbi,
    functionName: "getBalances",
    args: [config.account.address, assets],
  });
  return { config, connection, hostEarnings, assets, usdc: deployment.usdc, balances };
}
