import { getHostPolicy, getHostsForModel, hostEndpoint, type HostInfo, type HostPolicy } from "@session-jobs/sdk";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { Hex } from "viem";
import { usePublicClient } from "wagmi";
import { useDeployment } from "../DeploymentContext.ts";
import { failedInARowAfter, nextHealthCheckMs } from "./healthSchedule.ts";
import { hostRequestTimeoutMs, limitHostRequest } from "./hostRequestLimit.ts";
import { listableHostUrl } from "./hostUrl.ts";

/**
 * The registered hosts serving a model, cheapest first for `token`, each with its minimum deposit in
 * `token`; a host whose URL is not a plain http(s) one (`listableHostUrl`) is left out.
 */
export function useHosts(modelId: Hex | undefined, token: `0x${string}`) {
  const deployment = useDeployment();
  const client = usePublicClient();
  return useQuery({
    queryKey: ["hosts", deployment.nodeRegistry, modelId, token],
    enabled: Boolean(client && modelId),
    queryFn: async (): Promise<HostInfo[]> =>
      (await getHostsForModel(client!, { nodeRegistry: deployment.nodeRegistry, modelId: modelId!, sortByPriceFor: token })).filter((host) =>
        listableHostUrl(host.apiUrl),
      ),
  });
}

export type HostHealth = { ok: boolean; latencyMs: number };

/** A listed host's last health check, with the failed checks in a row that set when the next one comes. */
export type PolledHostHealth = HostHealth & { failedInARow: number };

/**
 * Whether a listed host answers right now (`GET /health`) and how fast: asked again every 15 s,
 * less often after each failed check (`nextHealthCheckMs`), never while the tab is hidden, through
 * the page's limit on requests to hosts (`limitHostRequest`).
 */
export function useHostHealth(apiUrl: string) {
  const queryClient = useQueryClient();
  const queryKey = ["host-health", apiUrl];
  return useQuery({
    queryKey,
    refetchInterval: (query) => nextHealthCheckMs(query.state.data?.failedInARow ?? 0),
    refetchIntervalInBackground: false,
    retry: false,
    queryFn: async (): Promise<PolledHostHealth> => {
      const health = await limitHostRequest(() => hostHealth(apiUrl));
      const previous = queryClient.getQueryData<PolledHostHealth>(queryKey);
      return { ...health, failedInARow: failedInARowAfter(previous?.failedInARow, health.ok) };
    },
  });
}

/** Asks the host at `apiUrl` for `GET /health` once: whether it answered 2xx, and how fast. */
export async function hostHealth(apiUrl: string): Promise<HostHealth> {
  const started = performance.now();
  try {
    const response = await fetch(hostEndpoint({ hostUrl: apiUrl }, "/health"), { signal: AbortSignal.timeout(hostRequestTimeoutMs) });
    return { ok: response.ok, latencyMs: Math.round(performance.now() - started) };
  } catch {
    return { ok: false, latencyMs: Math.round(performance.now() - started) };
  }
}

/**
 * The host's published policy (`GET /v1/host`): its node's own limits. Undefined while unknown or
 * when the host does not answer; the on-chain terms apply then. Asked through the page's limit on
 * requests to hosts (`limitHostRequest`).
 */
export function useHostPolicy(apiUrl: string | undefined) {
  return useQuery({
    queryKey: ["host-policy", apiUrl],
    enabled: apiUrl !== undefined,
    staleTime: 60_000,
    retry: false,
    queryFn: (): Promise<HostPolicy> => limitHostRequest(() => getHostPolicy({ hostUrl: apiUrl!, signal: AbortSignal.timeout(hostRequestTimeoutMs) })),
  });
}
