import { getHostPolicy, getHostsForModel, hostEndpoint, type HostInfo, type HostPolicy } from "@session-jobs/sdk";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { Hex } from "viem";
import { usePublicClient } from "wagmi";
import { useDeployment } from "../DeploymentContext.ts";
import { readHostAnswerToEnd } from "../hostJson.ts";
import { failedInARowAfter, nextHealthCheckMs } from "./healthSchedule.ts";
import { hostRequestTimeoutMs, limitChosenHostRequest, limitHostRequest, type ConcurrencyLimit } from "./hostRequestLimit.ts";
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
 * the page's limit on requests to hosts (`limitHostRequest`); a check still waiting when its card
 * unmounts is never sent.
 */
export function useHostHealth(apiUrl: string) {
  const queryClient = useQueryClient();
  const queryKey = ["host-health", apiUrl];
  return useQuery<PolledHostHealth>({
    queryKey,
    refetchInterval: (query) => nextHealthCheckMs(query.state.data?.failedInARow ?? 0),
    refetchIntervalInBackground: false,
    retry: false,
    queryFn: async ({ signal }) => {
      const health = await limitHostRequest(() => hostHealth(apiUrl), signal);
      const previous = queryClient.getQueryData<PolledHostHealth>(queryKey);
      return { ...health, failedInARow: failedInARowAfter(previous?.failedInARow, health.ok) };
    },
  });
}

/**
 * Asks the host at `apiUrl` for `GET /health` once: whether it answered 2xx, and how fast (to its
 * answer's headers). Resolves once the answer has arrived whole or {@link hostRequestTimeoutMs}
 * gave it up, so the request is over at the host when its place in the limit is given back.
 */
export async function hostHealth(apiUrl: string): Promise<HostHealth> {
  const started = performance.now();
  const elapsedMs = () => Math.round(performance.now() - started);
  try {
    const response = await fetch(hostEndpoint({ hostUrl: apiUrl }, "/health"), { signal: AbortSignal.timeout(hostRequestTimeoutMs) });
    const latencyMs = elapsedMs();
    const whole = await readHostAnswerToEnd(response).then(
      () => true,
      () => false,
    );
    return { ok: response.ok && whole, latencyMs };
  } catch {
    return { ok: false, latencyMs: elapsedMs() };
  }
}

const policyStaleMs = 60_000;

/**
 * A listed host's published policy (`GET /v1/host`): its node's own limits. Undefined while unknown
 * or when the host does not answer; the on-chain terms apply then. Asked through the page's limit on
 * requests to hosts (`limitHostRequest`); a read still waiting when its card unmounts is never sent.
 */
export function useHostPolicy(apiUrl: string | undefined) {
  return useQuery({
    queryKey: ["host-policy", apiUrl],
    enabled: apiUrl !== undefined,
    staleTime: policyStaleMs,
    retry: false,
    queryFn: ({ signal }) => readHostPolicy(apiUrl!, limitHostRequest, signal),
  });
}

/**
 * The chosen host's policy, the terms a session is opened with: read in its own lane
 * (`limitChosenHostRequest`), so it never waits behind the list's requests to hosts that do not
 * answer; starts from the list card's answer when that one is fresh.
 */
export function useChosenHostPolicy(apiUrl: string | undefined) {
  const queryClient = useQueryClient();
  const listed = ["host-policy", apiUrl];
  return useQuery({
    queryKey: ["chosen-host-policy", apiUrl],
    enabled: apiUrl !== undefined,
    staleTime: policyStaleMs,
    retry: false,
    initialData: () => queryClient.getQueryData<HostPolicy>(listed),
    initialDataUpdatedAt: () => queryClient.getQueryState(listed)?.dataUpdatedAt,
    queryFn: ({ signal }) => readHostPolicy(apiUrl!, limitChosenHostRequest, signal),
  });
}

/**
 * One read of a host's policy through `limit`: dropped if `signal` (its query's) aborts while it
 * waits; once sent, it runs to its answer (the SDK reads it whole) or its timeout.
 */
function readHostPolicy(apiUrl: string, limit: ConcurrencyLimit, signal: AbortSignal): Promise<HostPolicy> {
  return limit(() => getHostPolicy({ hostUrl: apiUrl, signal: AbortSignal.timeout(hostRequestTimeoutMs) }), signal);
}
