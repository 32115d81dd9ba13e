import { getSession, hostEndpoint, type OnChainSession } from "@session-jobs/sdk";
import type { Address, PublicClient } from "viem";
import { readHostJson } from "../hostJson.ts";

export type HostSessionRow = OnChainSession & { served?: bigint | undefined; signed?: bigint | undefined; unsigned?: bigint | undefined };

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

/** A row of the dashboard's sessions: the session from the chain (`getSession`) with the node's counts (at `nodeUrl`). */
export function hostSessionRow(parameters: { client: PublicClient; marketplace: Address; nodeUrl: string }) {
  const { client, marketplace, nodeUrl } = parameters;
  return async (jobId: bigint): Promise<HostSessionRow> => {
    const [session, counts] = await Promise.all([getSession(client, { marketplace, jobId }), servedBy(nodeUrl, jobId)]);
    return { ...session, ...counts };
  };
}
