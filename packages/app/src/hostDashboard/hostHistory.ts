import { marketplaceAbi } from "@session-jobs/sdk";
import type { Address, PublicClient } from "viem";
import { createLogFollower } from "../chain/logFollower.ts";
import { createSessionLog, newest } from "../chain/sessionLog.ts";
import { withGas, type LandedProof, type ProofLog, type ReceiptCache } from "../meter/proofs.tsx";

/** Proofs listed on the dashboard: the most recent. */
export const proofsShown = 20;

/** What a host's logs add up to at one head. */
export type HostHistoryView = {
  /** Every session opened with the host. */
  sessionCount: number;
  /** Tokens proven over all of them: the chain's `provenTokens` summed, as every proof emits its batch. */
  provenTokens: bigint;
  proofCount: number;
  /** The {@link proofsShown} most recent proofs, newest first, with their gas. */
  proofs: LandedProof[];
  /** The job ids of sessions `from` to `to` (exclusive), newest first. */
  jobIds: (from: number, to: number) => bigint[];
};

/**
 * A host's sessions and proofs from the marketplace's `SessionJobCreated` and `ProofSubmitted`
 * logs (both filtered by the host), read once each and kept (logFollower.ts, sessionLog.ts): a round reads two
 * `eth_getLogs` over the new blocks and the reorg window, and the receipts of proofs newly among
 * the shown ones. Counts and sums over older logs are kept as they are confirmed, so a round's
 * work on them does not grow with the history either.
 */
export function createHostHistory(parameters: { client: PublicClient; marketplace: Address; host: Address; fromBlock: bigint }) {
  const { client, marketplace, host, fromBlock } = parameters;
  /** Confirmed proofs, in chain order (only the {@link proofsShown} newest), and what they add up to. */
  const recentProofs: ProofLog[] = [];
  let proofCount = 0;
  let provenTokens = 0n;
  const receipts: ReceiptCache = new Map();

  const sessions = createSessionLog({ client, marketplace, fromBlock, opened: { host } });
  const proofLogs = createLogFollower<ProofLog>({
    fromBlock,
    getLogs: (fromBlock, toBlock) =>
      client.getContractEvents({ address: marketplace, abi: marketplaceAbi, eventName: "ProofSubmitted", args: { host }, fromBlock, toBlock, strict: true }),
    onConfirmed: (logs) => {
      for (const log of logs) {
        recentProofs.push(log);
        proofCount += 1;
        provenTokens += log.args.tokens;
      }
      // A host proves for as long as it runs: only the count, the sum and the shown ones are kept.
      recentProofs.splice(0, Math.max(0, recentProofs.length - proofsShown));
    },
  });

  return {
    async read(head: bigint): Promise<HostHistoryView> {
      const [opened, proofTail] = await Promise.all([sessions.read(head), proofLogs.follow(head)]);
      return {
        sessionCount: opened.count,
        provenTokens: proofTail.reduce((sum, log) => sum + log.args.tokens, provenTokens),
        proofCount: proofCount + proofTail.length,
        proofs: await withGas(client, newest(recentProofs, proofTail, 0, proofsShown), receipts),
        jobIds: (from, to) => opened.newestFirst(from, to).map((session) => session.jobId),
      };
    },
  };
}

export type HostHistory = ReturnType<typeof createHostHistory>;
