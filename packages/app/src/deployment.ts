import { getAddress, isAddress, type Address } from "viem";

/**
 * What the app is configured with at run time (`deployment.json` beside index.html), so one
 * build serves every network. The contract fields match the output of the contracts' deploy
 * script (`deploySessionJobs`), plus where to reach the chain.
 */
export type Deployment = {
  chainId: number;
  chainName: string;
  rpcUrl: string;
  jobMarketplace: Address;
  nodeRegistry: Address;
  modelRegistry: Address;
  hostEarnings: Address;
  /** The accepted USDC (6 decimals, ERC-2612 permit), if any. */
  usdc?: Address | undefined;
  /** Block to start event queries at. */
  deployedAtBlock: bigint;
  /**
   * A local development chain's unlocked account offered as a labelled "local dev wallet".
   * Honoured only on anvil's chain id 31337 with an RPC on this machine.
   */
  devWallet?: Address | undefined;
  /**
   * Set when a host node serves the page as its dashboard (`/dashboard/`): the page shows that
   * host's dashboard only, and reads the node's own endpoints on the page's origin.
   */
  host?: Address | undefined;
};

export const localChainId = 31337;

export class DeploymentError extends Error {
  override name = "DeploymentError";
}

/** Validates the deployment JSON; throws a {@link DeploymentError} naming every bad field. */
export function parseDeployment(raw: unknown): Deployment {
  if (typeof raw !== "object" || raw === null) throw new DeploymentError("deployment.json is not a JSON object.");
  const input = raw as Record<string, unknown>;
  const problems: string[] = [];
  const address = (name: string, required: boolean): Address | undefined => {
    const value = input[name];
    if (value === undefined && !required) return undefined;
    if (typeof value === "string" && isAddress(value, { strict: false })) return getAddress(value);
    problems.push(`${name} must be an address`);
    return undefined;
  };
  const chainId =
    typeof input.chainId === "number" && Number.isSafeInteger(input.chainId) && input.chainId > 0
      ? input.chainId
      : (problems.push("chainId must be a positive integer"), 0);
  const rpcUrl = typeof input.rpcUrl === "string" && /^https?:\/\/./.test(input.rpcUrl) ? input.rpcUrl : (problems.push("rpcUrl must be an http(s) URL"), "");
  const deployment = {
    chainId,
    chainName:
      typeof input.chainName === "string" && input.chainName !== "" ? input.chainName : chainId === localChainId ? "Local chain (anvil)" : `Chain ${chainId}`,
    rpcUrl,
    jobMarketplace: address("jobMarketplace", true)!,
    nodeRegistry: address("nodeRegistry", true)!,
    modelRegistry: address("modelRegistry", true)!,
    hostEarnings: address("hostEarnings", true)!,
    usdc: address("usdc", false),
    deployedAtBlock: typeof input.deployedAtBlock === "string" && /^\d+$/.test(input.deployedAtBlock) ? BigInt(input.deployedAtBlock) : 0n,
    devWallet: address("devWallet", false),
    host: address("host", false),
  };
  if (problems.length > 0) throw new DeploymentError(`deployment.json: ${problems.join("; ")}.`);
  return deployment;
}

/** Whether the deployment is a local development chain, where the dev wallet may be offered. */
export function isLocalDevChain(deployment: Pick<Deployment, "chainId" | "rpcUrl">): boolean {
  if (deployment.chainId !== localChainId) return false;
  const { hostname } = new URL(deployment.rpcUrl);
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
}

/** Reads `deployment.json` next to the page. */
export async function loadDeployment(url = "./deployment.json"): Promise<Deployment> {
  let response: Response;
  try {
    response = await fetch(url, { cache: "no-store" });
  } catch {
    throw new DeploymentError(`Could not load ${url}; the app needs it to know which chain to use.`);
  }
  if (!response.ok) throw new DeploymentError(`Could not load ${url} (HTTP ${response.status}); put a deployment JSON beside index.html.`);
  return parseDeployment(await response.json().catch(() => undefined));
}
