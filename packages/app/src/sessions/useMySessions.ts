import { getSession, listedSession, marketplaceAbi, type ListedSession, type OnChainSession, type PendingRefund } from "@session-jobs/sdk";
import { useQuery } from "@tanstack/react-query";
import type { Address, PublicClient } from "viem";
import { useAccount, useBlockNumber, usePublicClient } from "wagmi";
import { createFinalRows, sessionsPerPage, type FinalRows } from "../chain/finalRows.ts";
import { createSessionLog, type SessionLog } from "../chain/sessionLog.ts";
import { useAssets, useDeployment } from "../DeploymentContext.ts";
import type { Deployment } from "../deployment.ts";
import { listStoredSessions, sessionId, type StoredSession } from "../session/storage.ts";

export type MySession = { onChain: ListedSession; stored: StoredSession | undefined };

export type MySessionsData = {
  /** The block everything shown was read at. */
  blockNumber: bigint;
  /** The sessions of the page asked for, newest first. */
  sessions: MySession[];
  /** Every session the wallet opened. */
  sessionCount: number;
  /** Per asset of the deployment, the refunds waiting for `withdrawRefund`. */
  refunds: PendingRefund[];
};

/** What the page keeps of each wallet it showed: its sessions' logs read so far, and the sessions that ended. */
const kept = new Map<string, { log: SessionLog; rows: FinalRows<OnChainSession> }>();
function keptFor(client: PublicClient, deployment: Deployment, depositor: Address) {
  const key = `${deployment.chainId}:${deployment.jobMarketplace}:${depositor}`;
  let state = kept.get(key);
  if (!state) {
    const marketplace = deployment.jobMarketplace;
    state = {
      log: createSessionLog({ client, marketplace, fromBlock: deployment.deployedAtBlock, opened: { depositor } }),
      rows: createFinalRows<OnChainSession>(),
    };
    kept.set(key, state);
  }
  return state;
}

/**
 * Page `page` (0: the newest) of the sessions the connected wallet opened, each as the SDK's
 * `listSessions` lists it (`listedSession`: expiry and actions), with what this browser keeps of
 * it; read again each block. What a block costs does not grow with the wallet's history: the
 * block (its timestamp, for `expired`), one `eth_getLogs` over the new blocks (sessionLog.ts), the
 * refunds waiting in each of the deployment's assets, and the page's sessions that are still open
 * (finalRows.ts).
 */
export function useMySessions(page: number) {
  const deployment = useDeployment();
  const assets = useAssets();
  const client = usePublicClient();
  const { address } = useAccount();
  const { data: blockNumber } = useBlockNumber({ watch: true });
  return useQuery({
    queryKey: ["my-sessions", deployment.jobMarketplace, address, page, String(blockNumber)],
    enabled: Boolean(client && address && blockNumber !== undefined),
    // The last block's list stands while the next block's is read, for the same wallet and page only.
    placeholderData: (previous, previousQuery) => {
      const [, , previousAddress, previousPage] = previousQuery?.queryKey ?? [];
      return previousAddress === address && previousPage === page ? previous : undefined;
    },
    // A round a newer block made stale (no longer watched) stops before it reads the page's sessions.
    queryFn: async ({ signal }: { signal: AbortSignal }): Promise<MySessionsData> => {
      const chain = client!;
      const head = blockNumber!;
      const depositor = address!;
      const marketplace = deployment.jobMarketplace;
      const { log, rows } = keptFor(chain, deployment, depositor);
      const [block, opened, refunds, stored] = await Promise.all([
        chain.getBlock({ blockNumber: head }),
        log.read(head),
        Promise.all(
          assets.map(async ({ token }) => ({
            token,
            amount: await chain.readContract({
              address: marketplace,
              abi: marketplaceAbi,
              functionName: "pendingRefunds",
              args: [depositor, token],
              blockNumber: head,
            }),
          })),
        ),
        listStoredSessions(),
      ]);
      signal.throwIfAborted();
      const shown = opened.newestFirst(page * sessionsPerPage, (page + 1) * sessionsPerPage);
      const onChain = await rows.read(
        head,
        shown.map((session) => session.jobId),
        (jobId) => getSession(chain, { marketplace, jobId, blockNumber: head }),
      );
      const pendingRefunds = refunds.filter((refund) => refund.amount > 0n);
      const byId = new Map(stored.map((record) => [record.id, record]));
      const sessions = onChain.map((session, index): MySession => ({
        onChain: listedSession(session, { openedAtBlock: shown[index]!.blockNumber, timestamp: block.timestamp, pendingRefunds }),
        stored: byId.get(sessionId({ chainId: deployment.chainId, marketplace, jobId: session.jobId })),
      }));
      return { blockNumber: head, sessions, sessionCount: opened.count, refunds: pendingRefunds };
    },
  });
}
