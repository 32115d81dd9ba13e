import { getSession, hostEndpoint, marketplaceAbi, type Session } from "@session-jobs/sdk";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import type { PublicClient } from "viem";
import { useBlockNumber, usePublicClient } from "wagmi";
import { createLogCollector } from "../chain/logFollower.ts";
import { readHostJson } from "../hostJson.ts";
import { withGas, type LandedProof, type ProofLog, type ReceiptCache } from "./proofs.tsx";

const servedKey = (session: Session) => ["served", session.hostUrl, String(session.jobId)];

/**
 * What the host says it served (`GET /v1/session/:jobId`), asked every 3 s and whenever an answer
 * ends (`useRefetchServed`); unknown until the first answer.
 */
export function useServedTokens(session: Session) {
  return useQuery({
    queryKey: servedKey(session),
    refetchInterval: 3_000,
    retry: false,
    queryFn: () => servedTokens(session),
  });
}

/** The host's served count for the session (`GET /v1/session/:jobId`): 0 before it knows the session. */
export async function servedTokens(session: Pick<Session, "hostUrl" | "jobId">): Promise<bigint> {
  const response = await fetch(hostEndpoint(session, `/v1/session/${session.jobId}`), { signal: AbortSignal.timeout(5_000) });
  if (response.status === 404) return 0n;
  if (!response.ok) throw new Error(`host answered ${response.status}`);
  const view = (await readHostJson(response)) as { servedTokens?: unknown } | null;
  return typeof view?.servedTokens === "string" && /^\d+$/.test(view.servedTokens) ? BigInt(view.servedTokens) : 0n;
}

/**
 * Asks the host for the served count now and resolves when the answer is in: called when an answer
 * ends, so the meter never shows fewer served than the receipt just signed (the poll lags up to 3 s).
 */
export function useRefetchServed(session: Session) {
  const queryClient = useQueryClient();
  return useCallback(() => queryClient.refetchQueries({ queryKey: servedKey(session) }), [queryClient, session]);
}

/** Each session's proofs read so far, by marketplace and job: a round reads only the new blocks and the reorg window. */
const followed = new Map<string, (head: bigint) => Promise<LandedProof[]>>();
function proofsOf(client: PublicClient, session: Session) {
  const key = `${session.marketplace}:${session.jobId}`;
  let read = followed.get(key);
  if (!read) {
    const receipts: ReceiptCache = new Map();
    const logs = createLogCollector<ProofLog>({
      fromBlock: session.openedAtBlock,
      getLogs: (fromBlock, toBlock) =>
        client.getContractEvents({
          address: session.marketplace,
          abi: marketplaceAbi,
          eventName: "ProofSubmitted",
          args: { jobId: session.jobId },
          fromBlock,
          toBlock,
          strict: true,
        }),
    });
    read = async (head) => withGas(client, await logs(head), receipts);
    followed.set(key, read);
  }
  return read;
}

/**
 * The session on chain and each checkpoint proof that landed, read again at every new block: one
 * `eth_call`, one `eth_getLogs` over the new blocks and the reorg window, and the receipts of new proofs.
 */
export function useChainProgress(session: Session) {
  const client = usePublicClient();
  const { data: blockNumber } = useBlockNumber({ watch: true });
  const target = { marketplace: session.marketplace, jobId: session.jobId };
  const onChain = useQuery({
    queryKey: ["chain-session", session.marketplace, String(session.jobId), String(blockNumber)],
    enabled: Boolean(client),
    placeholderData: (previous) => previous,
    queryFn: () => getSession(client!, target),
  });
  const proofs = useQuery({
    queryKey: ["proofs", session.marketplace, String(session.jobId), String(blockNumber)],
    enabled: Boolean(client && blockNumber !== undefined),
    placeholderData: (previous) => previous,
    queryFn: () => proofsOf(client!, session)(blockNumber!),
  });
  return { onChain: onChain.data, proofs: proofs.data ?? [] };
}
