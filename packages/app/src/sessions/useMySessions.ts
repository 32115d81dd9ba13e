import { getSession, marketplaceAbi, type OnChainSession } from "@session-jobs/sdk";
import { useQuery } from "@tanstack/react-query";
import type { Address } from "viem";
import { useAccount, useBlockNumber, usePublicClient } from "wagmi";
import { useDeployment } from "../DeploymentContext.ts";
import { listStoredSessions, sessionId, type StoredSession } from "../session/storage.ts";

export type MySession = { onChain: OnChainSession; stored: StoredSession | undefined; timedOutAt: bigint };

/** Every session the connected wallet opened (SessionJobCreated events), with what this browser keeps of each. */
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
      const [logs, stored, block] = await Promise.all([
        client!.getContractEvents({ address: deployment.jobMarketplace, abi: marketplaceAbi, eventName: "SessionJobCreated", args: { depositor: address }, fromBlock: deployment.deployedAtBlock }),
        listStoredSessions(),
        client!.getBlock(),
      ]);
      const byId = new Map(stored.map((record) => [record.id, record]));
      const sessions = await Promise.all(
        logs.map(async (log): Promise<MySession> => {
          const onChain = await getSession(client!, { marketplace: deployment.jobMarketplace, jobId: log.args.jobId! });
          return { onChain, stored: byId.get(sessionId({ chainId: deployment.chainId, marketplace: deployment.jobMarketplace, jobId: onChain.jobId })), timedOutAt: onChain.createdAt + onChain.maxDuration };
        }),
      );
      const tokens: Address[] = [...new Set(sessions.map((session) => session.onChain.token))];
      const refunds = await Promise.all(
        tokens.map(async (token) => ({
          token,
          amount: await client!.readContract({ address: deployment.jobMarketplace, abi: marketplaceAbi, functionName: "pendingRefunds", args: [address!, token] }),
        })),
      );
      return { sessions: sessions.reverse(), refunds: refunds.filter((refund) => refund.amount > 0n), now: block.timestamp };
    },
  });
}
