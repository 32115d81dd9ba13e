import type { Address } from "viem";
import type { OptionValues } from "./command.ts";
import { parseAssetListOption } from "./assets.ts";
import { loadDeployment } from "./connection.ts";

/** `--assets` of the host's money commands; `usdc` resolves through `--deployment` when given. */
export function hostAssets(values: OptionValues): { assets: Address[]; usdc: Address | undefined } {
  const deployment = typeof values.deployment === "string" ? loadDeployment(values.deployment) : { usdc: undefined };
  return { assets: parseAssetListOption("assets", typeof values.assets === "string" ? values.assets : undefined, deployment), usdc: deployment.usdc };
}
