import { erc20Abi, zeroAddress, type Address, type PublicClient } from "viem";
import type { SessionJobsDeployment } from "@session-jobs/contracts/deploy";
import { CliError } from "./errors.ts";
import { assetDisplay, type AssetDisplay } from "./format.ts";
import { parseAddressOption } from "./parse.ts";

/** An asset named on the command line: `eth`, `usdc` (the deployment's stable token) or a token address. */
export function parseAssetOption(name: string, value: string, deployment: Pick<SessionJobsDeployment, "usdc">): Address {
  const lower = value.toLowerCase();
  if (lower === "eth") return zeroAddress;
  if (lower === "usdc") {
    if (!deployment.usdc) throw new CliError(`--${name}: this deployment has no USDC`);
    return deployment.usdc;
  }
  return parseAddressOption(name, value);
}

/** How to name `token` in `--asset`: eth, usdc (the deployment's) or its address. */
export function assetArgument(token: Address, deployment: Pick<SessionJobsDeployment, "usdc">): string {
  if (token === zeroAddress) return "eth";
  return deployment.usdc && token.toLowerCase() === deployment.usdc.toLowerCase() ? "usdc" : token;
}

/** A comma-separated list of assets; left out, ETH and the deployment's USDC if it has one. */
export function parseAssetListOption(name: string, value: string | undefined, deployment: Pick<SessionJobsDeployment, "usdc">): Address[] {
  if (value === undefined) return deployment.usdc ? [zeroAddress, deployment.usdc] : [zeroAddress];
  const assets = value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
  if (assets.length === 0) throw new CliError(`--${name}: name at least one asset (eth, usdc or a token address)`);
  return assets.map((asset) => parseAssetOption(name, asset, deployment));
}

/** How to show amounts of `token`: ETH and the deployment's USDC are known; any other ERC-20 is asked. */
export async function readAssetDisplay(client: PublicClient, token: Address, deployment: Pick<SessionJobsDeployment, "usdc">): Promise<AssetDisplay> {
  const known = assetDisplay(token, deployment.usdc);
  if (token === zeroAddress || known.symbol === "USDC") return known;
  const [symbol, decimals] = await Promise.all([
    client.readContract({ address: token, abi: erc20Abi, functionName: "symbol" }).catch(() => known.symbol),
    client.readContract({ address: token, abi: erc20Abi, functionName: "decimals" }).catch(() => {
      throw new CliError(`${token} is not an ERC-20 token (it has no decimals())`);
    }),
  ]);
  return { symbol, decimals };
}
