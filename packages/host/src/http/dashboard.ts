import { jobMarketplaceWithModelsAbi, nodeRegistryWithModelsAbi } from "@session-jobs/contracts/abis";
import { zeroAddress, type Address, type PublicClient } from "viem";
import type { HostConfig } from "../config/config.ts";
import { HostError } from "../errors.ts";
import { appSecurityHeaders } from "./appSecurity.ts";
import { sendJson } from "./httpIo.ts";
import type { Logger } from "../observability/logger.ts";
import type { Route } from "./server.ts";
import { findStaticFile, loadStaticSite, maxStaticPathLength, StaticSiteError, type StaticSite } from "./staticSite.ts";

/** Where the node serves its dashboard. */
export const dashboardPath = "/dashboard";

/**
 * What the dashboard page is configured with (the web app's deployment JSON, plus `host`): only
 * public facts, never the node's RPC URL (it may carry an API key), its key or its settings.
 */
export type DashboardDeployment = {
  chainId: number;
  rpcUrl: string;
  jobMarketplace: Address;
  nodeRegistry: Address;
  modelRegistry: Address;
  hostEarnings: Address;
  usdc?: Address;
  deployedAtBlock: string;
  /** The host this node runs: the page shows it and no other. */
  host: Address;
  /** On a local anvil only: offer the host's own (unlocked) account as the labelled dev wallet. */
  devWallet?: Address;
};

/** Whether `url` is an http(s) URL on this machine (a local development chain). */
export function isLoopbackHttpUrl(url: string): boolean {
  try {
    const { protocol, hostname } = new URL(url);
    return (protocol === "http:" || protocol === "https:") && (hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]");
  } catch {
    return false;
  }
}

/**
 * `GET /dashboard/…`: the built web app from `site` (in memory) with `deployment` as its
 * `deployment.json`. `/dashboard` redirects to `/dashboard/` (the app's asset paths are
 * relative). Unknown paths are `not_found`; over-long ones `invalid_request` (414).
 */
export function createDashboardRoutes(parameters: { site: StaticSite; deployment: DashboardDeployment }): Route[] {
  const { site } = parameters;
  const deploymentJson = parameters.deployment;
  // The dashboard calls this node and the chain's RPC only.
  const security = appSecurityHeaders(new URL(parameters.deployment.rpcUrl).origin);
  return [
    {
      method: "GET",
      path: `${dashboardPath}/*`,
      handler: (_request, response, params) => {
        const rest = params.rest ?? "";
        if (rest === "") {
          response.writeHead(308, { location: `${dashboardPath}/`, "content-length": "0" }).end();
          return;
        }
        if (rest.length > maxStaticPathLength)
          throw new HostError("invalid_request", `the path is longer than ${maxStaticPathLength} characters`, { status: 414 });
        if (rest === "/deployment.json") return sendJson(response, 200, deploymentJson, { ...security, "cache-control": "no-store" });
        const file = findStaticFile(site, rest);
        if (!file) throw new HostError("not_found", `no file ${dashboardPath}${rest}`);
        response.writeHead(200, {
          ...security,
          "content-type": file.contentType,
          "content-length": file.body.length,
          "cache-control": file.immutable ? "public, max-age=31536000, immutable" : "no-cache",
        });
        response.end(file.body);
      },
    },
  ];
}

/**
 * The dashboard's routes for this node, or none (logged once, never fatal) when it is off: no
 * `dashboard.dir`, an unbuilt app, or no RPC a browser may be given (see `dashboard.rpcUrl`).
 * Contract addresses the configuration lacks are read from the chain.
 */
export async function dashboardRoutes(parameters: {
  config: Pick<HostConfig, "rpcUrl" | "contracts" | "dashboard"> & { account: { address: Address } };
  chain: { publicClient: PublicClient; chainId: number };
  logger: Logger;
}): Promise<Route[]> {
  const { config, chain, logger } = parameters;
  if (config.dashboard.dir === undefined) return [];
  const rpcUrl = config.dashboard.rpcUrl ?? (isLoopbackHttpUrl(config.rpcUrl) ? config.rpcUrl : undefined);
  if (rpcUrl === undefined) {
    logger.warn("dashboard off: set dashboard.rpcUrl, the RPC browsers may use (the node's own RPC URL is never sent to them)");
    return [];
  }
  let site: StaticSite;
  try {
    site = loadStaticSite(config.dashboard.dir);
  } catch (error) {
    if (!(error instanceof StaticSiteError)) throw error;
    logger.warn(`dashboard off: ${error.message}`);
    return [];
  }
  const { publicClient } = chain;
  const { jobMarketplace, nodeRegistry } = config.contracts;
  let modelRegistry: Address, hostEarnings: Address, accepted: readonly Address[];
  try {
    [modelRegistry, hostEarnings, accepted] = await Promise.all([
      config.contracts.modelRegistry ?? publicClient.readContract({ address: nodeRegistry, abi: nodeRegistryWithModelsAbi, functionName: "modelRegistry" }),
      config.contracts.hostEarnings ?? publicClient.readContract({ address: jobMarketplace, abi: jobMarketplaceWithModelsAbi, functionName: "hostEarnings" }),
      publicClient.readContract({ address: jobMarketplace, abi: jobMarketplaceWithModelsAbi, functionName: "getAcceptedTokens" }),
    ]);
  } catch {
    logger.warn(
      "dashboard off: the contracts' addresses could not be read from the chain (set contracts.modelRegistry and contracts.hostEarnings, or restart)",
    );
    return [];
  }
  const usdc = accepted.find((token) => token !== zeroAddress);
  const host = config.account.address;
  const deployment: DashboardDeployment = {
    chainId: chain.chainId,
    rpcUrl,
    jobMarketplace,
    nodeRegistry,
    modelRegistry,
    hostEarnings,
    ...(usdc && { usdc }),
    deployedAtBlock: String(config.dashboard.fromBlock),
    host,
    // anvil signs for its own test accounts: on a local chain the page may offer the host's.
    ...(chain.chainId === 31337 && isLoopbackHttpUrl(rpcUrl) && { devWallet: host }),
  };
  return createDashboardRoutes({ site, deployment });
}
