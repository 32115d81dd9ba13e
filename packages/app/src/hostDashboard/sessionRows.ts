import { getSession, hostEndpoint, type OnChainSession } from "@session-jobs/sdk";
import type { Address, PublicClient } from "viem";
import { reorgWindow } from "../chain/logFollower.ts";
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

/**
 * The rows of the sessions on the page shown: each session from the chain (`getSession`, one
 * `eth_call`; the page's calls go out in one JSON-RPC batch) with the node's counts. A session that
 * ended is final once its ending is {@link reorgWindow} blocks deep: its row is kept and never read
 * again, so a round reads only the open sessions of one page.
 */
export function createSessionRows(parameters: { client: PublicClient; marketplace: Address }) {
  const { client, marketplace } = parameters;
  /** Each row read, with the head it was read at and the first head at which it was seen ended. */
  const rows = new Map<bigint, { row: HostSessionRow; readAt: bigint; endedAt: bigint | undefined }>();
  const isFinal = (kept: { endedAt: bigint | undefined }, head: bigint) => kept.endedAt !== undefined && kept.endedAt + reorgWindow <= head;

  return {
    /** The rows of `jobIds` at `head`, reading the node at `nodeUrl`. */
    read(head: bigint, jobIds: readonly bigint[], nodeUrl: string): Promise<HostSessionRow[]> {
      return Promise.all(
        jobIds.map(async (jobId) => {
          const final = rows.get(jobId);
          if (final && isFinal(final, head)) return final.row;
          const [session, counts] = await Promise.all([getSession(client, { marketplace, jobId }), servedBy(nodeUrl, jobId)]);
          const row = { ...session, ...counts };
          const kept = rows.get(jobId);
          // A slower round for an older head never replaces a newer read.
          if (kept && kept.readAt > head) return row;
          rows.set(jobId, { row, readAt: head, endedAt: row.status === "active" ? undefined : (kept?.endedAt ?? head) });
          return row;
        }),
      );
    },
  };
}
export type SessionRows = ReturnType<typeof createSessionRows>;
