import { createContext, useContext } from "react";
import type { Deployment } from "./deployment.ts";
import { eth, usdcAsset, type Asset } from "./format.ts";

export const DeploymentContext = createContext<Deployment | undefined>(undefined);

export function useDeployment(): Deployment {
  const deployment = useContext(DeploymentContext);
  if (!deployment) throw new Error("useDeployment outside DeploymentContext");
  return deployment;
}

/** The assets a session can be paid in on this deployment. */
export function useAssets(): Asset[] {
  const deployment = useDeployment();
  return deployment.usdc ? [usdcAsset(deployment.usdc), eth] : [eth];
}

export function assetOf(token: string, deployment: Deployment): Asset {
  return deployment.usdc && token.toLowerCase() === deployment.usdc.toLowerCase() ? usdcAsset(deployment.usdc) : eth;
}
