import { listSessions, type ListedSession } from "@session-jobs/sdk";
import { useQuery } from "@tanstack/react-query";
import { useAccount, useBlockNumber, usePublicClient } from "wagmi";
import { useDeployment } from "../DeploymentContext.ts";
import { listStoredSessions, sessionId, type StoredSession } from "../session/storage.ts";

export type MySession = { onChain: ListedSession; stored: StoredSession | undefined };

/** Every session the connected wallet opened (the SDK's `listSessions`), with what this browser keeps of each. */
export function useMySessions() {
  const deployment = useDeployment();
  const client = usePublicClient();
  const { address } = useAccount();
  const { data: blockNumber } = useBlockNumber({ watch: true });
  return useQuery({
    queryKey: ["my-sessions", deployment.jobMarketplace, address, String(blockNumber)],
    enabled: Boolean(client && address),
    placeholderData: (previous) => previous,
    queryFn: async () => {
      const [listed, stored] = await Promise.all([
        listSessions(client!, { marketplace: deployment.jobMarketplace, depositor: address!, fromBlock: deployment.deployedAtBlock }),
        listStoredSessions(),
      ]);
      const byId = new Map(stored.map((record) => [record.id, record]));
      const sessions = listed.sessions.map((onChain): MySession => ({
        onChain,
        stored: byId.get(sessionId({ chainId: deployment.chainId, marketplace: deployment.jobMarketplace, jobId: onChain.jobId })),
      }));
      return { sessions, refunds: listed.pendingRefunds };
    },
  });
}
