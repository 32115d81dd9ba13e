import {
  getHostInfo,
  getSession,
  hostEarningsAbi,
  hostEndpoint,
  marketplaceAbi,
  nodeRegistryWithModelsAbi,
  type HostInfo,
  type OnChainSession,
} from "@session-jobs/sdk";
import { useQuery } from "@tanstack/react-query";
import type { Address } from "viem";
import { useBlockNumber, usePublicClient } from "wagmi";
import { useAssets, useDeployment } from "../DeploymentContext.ts";
import type { Asset } from "../format.ts";
import { readHostJson } from "../hostJson.ts";
import { withGas, type LandedProof } from "../meter/proofs.tsx";
import { readiness, type NodeReadiness } from "./readiness.ts";

export type HostSessionRow = OnChainSession & { served?: bigint | undefined; signed?: bigint | undefined; unsigned?: bigint | undefined };
export type HostDashboardData = {
  info: HostInfo;
  ready: NodeReadiness;
  gasBalance: bigint;
  earnings: { asset: Asset; amount: bigint }[];
  sessions: HostSessionRow[];
  proofs: LandedProof[];
};

/** Every registered host, for the dashboard's host picker (not read when `enabled` is false). */
export function useRegisteredHosts(enabled = true) {
  const deployment = useDeployment();
  const client = usePublicClient();
  return useQuery({
    queryKey: ["registered-hosts", deployment.nodeRegistry],
    enabled: enabled && Boolean(client),
    queryFn: () => client!.readContract({ address: deployment.nodeRegistry, abi: nodeRegistryWithModelsAbi, functionName: "getAllActiveNodes" }),
  });
}

/** Sessions shown under "Recent" (settled, timed out, abandoned); every active one is shown. */
export const recentSessionCount = 20;

/**
 * What a host's dashboard shows, from the chain and the node's public endpoints (at `nodeUrl`
 * when the node serves the page itself, else at the URL the host registered); read again each block.
 */
export function useHostDashboard(host: Address | undefined, nodeUrl?: string) {
  const deployment = useDeployment();
  const assets = useAssets();
  const client = usePublicClient();
  const { data: blockNumber } = useBlockNumber({ watch: true });
  return useQuery({
    queryKey: ["host-dashboard", host, nodeUrl, String(blockNumber)],
    enabled: Boolean(client && host),
    placeholderData: (previous) => previous,
    queryFn: async (): Promise<HostDashboardData> => {
      const chain = client!;
      const info = await getHostInfo(chain, { nodeRegistry: deployment.nodeRegistry, host: host! });
      const node = nodeUrl ?? info.apiUrl;
      const [ready, gasBalance, earnings, created, proofLogs] = await Promise.all([
        readiness(node),
        chain.getBalance({ address: host! }),
        Promise.all(
          assets.map(async (asset) => ({
            asset,
            amount: await chain.readContract({
              address: deployment.hostEarnings,
              abi: hostEarningsAbi,
              functionName: "getBalance",
              args: [host!, asset.token],
            }),
          })),
        ),
        chain.getContractEvents({
          address: deployment.jobMarketplace,
          abi: marketplaceAbi,
          eventName: "SessionJobCreated",
          args: { host },
          fromBlock: deployment.deployedAtBlock,
        }),
        chain.getContractEvents({
          address: deployment.jobMarketplace,
          abi: marketplaceAbi,
          eventName: "ProofSubmitted",
          args: { host },
          fromBlock: deployment.deployedAtBlock,
        }),
      ]);
      const onChain = await Promise.all(created.reverse().map((log) => getSession(chain, { marketplace: deployment.jobMarketplace, jobId: log.args.jobId! })));
      const shown = [
        ...onChain.filter((session) => session.status === "active"),
        ...onChain.filter((session) => session.status !== "active").slice(0, recentSessionCount),
      ];
      const sessions = await Promise.all(shown.map(async (session) => ({ ...session, ...(await servedBy(node, session.jobId)) })));
      const proofs = await withGas(chain, proofLogs.reverse());
      return { info, ready, gasBalance, earnings, sessions, proofs };
    },
  });
}

/** The node's own counts for a session (`GET /v1/session/:jobId`), when it has served it. */
export async function servedBy(apiUrl: string, jobId: bigint): Promise<Pick<HostSessionRow, "served" | "signed" | "unsigned">> {
  try {
    const response = await fetch(hostEndpoint({ hostUrl: apiUrl }, `/v1/session/${jobId}`), { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) return {};
    const view = ((await readHostJson(response)) ?? {}) as Record<string, unknown>;
    const count = (value: unknown) => (typeof value === "string" && /^\d+$/.test(value) ? BigInt(value) : undefined);
    return { served: count(view.servedTokens), signed: count(view.signedTokens), unsigned: count(view.unsignedTokens) };
  } catch {
    return {};
  }
}
