import { getHostInfo, hostEarningsAbi, nodeRegistryWithModelsAbi, type HostInfo } from "@session-jobs/sdk";
import { useQuery } from "@tanstack/react-query";
import type { Address, PublicClient } from "viem";
import { useBlockNumber, usePublicClient } from "wagmi";
import { createFinalRows, sessionsPerPage, type FinalRows } from "../chain/finalRows.ts";
import { useAssets, useDeployment } from "../DeploymentContext.ts";
import type { Deployment } from "../deployment.ts";
import type { Asset } from "../format.ts";
import type { LandedProof } from "../meter/proofs.tsx";
import { createHostHistory, type HostHistory } from "./hostHistory.ts";
import { readiness, type NodeReadiness } from "./readiness.ts";
import { hostSessionRow, type HostSessionRow } from "./sessionRows.ts";

export type HostDashboardData = {
  /** The block everything shown was read at (or after). */
  blockNumber: bigint;
  info: HostInfo;
  ready: NodeReadiness;
  gasBalance: bigint;
  earnings: { asset: Asset; amount: bigint }[];
  /** The sessions of the page asked for, newest first. */
  sessions: HostSessionRow[];
  sessionCount: number;
  /** Over every session of the host. */
  provenTokens: bigint;
  /** The most recent, newest first (hostHistory.ts). */
  proofs: LandedProof[];
  proofCount: number;
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

/** What the dashboard keeps of each host it showed: its logs read so far, and the rows of sessions that ended. */
const kept = new Map<string, { history: HostHistory; rows: FinalRows<HostSessionRow> }>();
function keptFor(client: PublicClient, deployment: Deployment, host: Address) {
  const key = `${deployment.chainId}:${deployment.jobMarketplace}:${host}`;
  let state = kept.get(key);
  if (!state) {
    const marketplace = deployment.jobMarketplace;
    state = {
      history: createHostHistory({ client, marketplace, host, fromBlock: deployment.deployedAtBlock }),
      rows: createFinalRows<HostSessionRow>(),
    };
    kept.set(key, state);
  }
  return state;
}

/**
 * What a host's dashboard shows, from the chain and the node's public endpoints (at `nodeUrl`
 * when the node serves the page itself, else at the URL the host registered); read again each
 * block. Page `page` (0: the newest) of its sessions. What a block costs does not grow with the
 * host's history: the registration, balances and health, two `eth_getLogs` over the new blocks
 * (hostHistory.ts), and the page's sessions that are still open (finalRows.ts).
 */
export function useHostDashboard(host: Address | undefined, nodeUrl: string | undefined, page: number) {
  const deployment = useDeployment();
  const assets = useAssets();
  const client = usePublicClient();
  const { data: blockNumber } = useBlockNumber({ watch: true });
  return useQuery({
    queryKey: ["host-dashboard", host, nodeUrl, page, String(blockNumber)],
    enabled: Boolean(client && host && blockNumber !== undefined),
    // The last block's figures stand while the next block's are read, for the same host and page only:
    // another host's money figures must never show under this one.
    placeholderData: (previous, previousQuery) => {
      const [, previousHost, previousNodeUrl, previousPage] = previousQuery?.queryKey ?? [];
      return previousHost === host && previousNodeUrl === nodeUrl && previousPage === page ? previous : undefined;
    },
    // A round a newer block made stale (no longer watched) stops before it reads the page's sessions.
    queryFn: async ({ signal }: { signal: AbortSignal }): Promise<HostDashboardData> => {
      const chain = client!;
      const head = blockNumber!;
      const { history, rows } = keptFor(chain, deployment, host!);
      const info = await getHostInfo(chain, { nodeRegistry: deployment.nodeRegistry, host: host! });
      const node = nodeUrl ?? info.apiUrl;
      const [ready, gasBalance, earnings, logs] = await Promise.all([
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
        history.read(head),
      ]);
      signal.throwIfAborted();
      const pageJobIds = logs.jobIds(page * sessionsPerPage, (page + 1) * sessionsPerPage);
      const sessions = await rows.read(head, pageJobIds, hostSessionRow({ client: chain, marketplace: deployment.jobMarketplace, nodeUrl: node }));
      return {
        blockNumber: head,
        info,
        ready,
        gasBalance,
        earnings,
        sessions,
        sessionCount: logs.sessionCount,
        provenTokens: logs.provenTokens,
        proofs: logs.proofs,
        proofCount: logs.proofCount,
      };
    },
  });
}
