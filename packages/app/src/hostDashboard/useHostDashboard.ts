import { getHostInfo, getSession, hostEarningsAbi, marketplaceAbi, nodeRegistryWithModelsAbi, type HostInfo, type OnChainSession } from "@session-jobs/sdk";
import { useQuery } from "@tanstack/react-query";
import type { Address } from "viem";
import { useBlockNumber, usePublicClient } from "wagmi";
import { useAssets, useDeployment } from "../DeploymentContext.ts";
import type { Asset } from "../format.ts";
import { withGas, type LandedProof } from "../meter/proofs.tsx";

export type HostSessionRow = OnChainSession & { served?: bigint | undefined; signed?: bigint | undefined; unsigned?: bigint | undefined };
export type HostDashboardData = {
  info: HostInfo;
  ready: { ok: boolean; detail: string };
  gasBalance: bigint;
  earnings: { asset: Asset; amount: bigint }[];
  sessions: HostSessionRow[];
  proofs: LandedProof[];
};

/** Every registered host, for the dashboard's host picker. */
export function useRegisteredHosts() {
  const deployment = useDeployment();
  const client = usePublicClient();
  return useQuery({
    queryKey: ["registered-hosts", deployment.nodeRegistry],
    enabled: Boolean(client),
    queryFn: () => client!.readContract({ address: deployment.nodeRegistry, abi: nodeRegistryWithModelsAbi, functionName: "getAllActiveNodes" }),
  });
}

/** What a host's dashboard shows, from the chain and the node's public endpoints; read again each block. */
export function useHostDashboard(host: Address | undefined) {
  const deployment = useDeployment();
  const assets = useAssets();
  const client = usePublicClient();
  const { data: blockNumber } = useBlockNumber({ watch: true });
  return useQuery({
    queryKey: ["host-dashboard", host, String(blockNumber)],
    enabled: Boolean(client && host),
    placeholderData: (previous) => previous,
    queryFn: async (): Promise<HostDashboardData> => {
      const chain = client!;
      const info = await getHostInfo(chain, { nodeRegistry: deployment.nodeRegistry, host: host! });
      const [ready, gasBalance, earnings, created, proofLogs] = await Promise.all([
        readiness(info.apiUrl),
        chain.getBalance({ address: host! }),
        Promise.all(
          assets.map(async (asset) => ({
            asset,
            amount: await chain.readContract({ address: deployment.hostEarnings, abi: hostEarningsAbi, functionName: "getBalance", args: [host!, asset.token] }),
          })),
        ),
        chain.getContractEvents({ address: deployment.jobMarketplace, abi: marketplaceAbi, eventName: "SessionJobCreated", args: { host }, fromBlock: deployment.deployedAtBlock }),
        chain.getContractEvents({ address: deployment.jobMarketplace, abi: marketplaceAbi, eventName: "ProofSubmitted", args: { host }, fromBlock: deployment.deployedAtBlock }),
      ]);
      const sessions = await Promise.all(
        created.reverse().map(async (log) => {
          const session = await getSession(chain, { marketplace: deployment.jobMarketplace, jobId: log.args.jobId! });
          return { ...session, ...(await servedBy(info.apiUrl, session.jobId)) };
        }),
      );
      const proofs = await withGas(chain, proofLogs.reverse());
      return { info, ready, gasBalance, earnings, sessions, proofs };
    },
  });
}

async function readiness(apiUrl: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const response = await fetch(new URL("/ready", apiUrl), { signal: AbortSignal.timeout(5_000) });
    const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
    return response.ok ? { ok: true, detail: "ready: backend and chain answer" } : { ok: false, detail: body.error?.message ?? `HTTP ${response.status}` };
  } catch {
    return { ok: false, detail: "does not answer" };
  }
}

/** The node's own counts for a session (`GET /v1/session/:jobId`), when it has served it. */
async function servedBy(apiUrl: string, jobId: bigint): Promise<Pick<HostSessionRow, "served" | "signed" | "unsigned">> {
  try {
    const response = await fetch(new URL(`/v1/session/${jobId}`, apiUrl), { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) return {};
    const view = (await response.json()) as Record<string, unknown>;
    const count = (value: unknown) => (typeof value === "string" && /^\d+$/.test(value) ? BigInt(value) : undefined);
    return { served: count(view.servedTokens), signed: count(view.signedTokens), unsigned: count(view.unsignedTokens) };
  } catch {
    return {};
  }
}
