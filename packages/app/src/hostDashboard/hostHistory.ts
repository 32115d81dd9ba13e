import { marketplaceAbi } from "@session-jobs/sdk";
import type { Address, PublicClient } from "viem";
import { createLogFollower } from "../chain/logFollower.ts";
import { withGas, type LandedProof, type ProofLog, type ReceiptCache } from "../meter/proofs.tsx";

/** Proofs listed on the dashboard: the most recent. */
export const proofsShown = 20;

type CreationLog = { args: { jobId: bigint }; blockNumber: bigint };

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
 * logs (both filtered by the host), read once each and kept (logFollower.ts): a round reads two
 * `eth_getLogs` over the new blocks and the reorg window, and the receipts of proofs newly among
 * the shown ones. Counts and sums over older logs are kept as they are confirmed, so a round's
 * work on them does not grow with the history either.
 */
export function createHostHistory(parameters: { client: PublicClient; marketplace: Address; host: Address; fromBlock: bigint }) {
  const { client, marketplace, host, fromBlock } = parameters;
  /** Confirmed logs, in chain order (of proofs only the {@link proofsShown} newest), and what their proofs add up to. */
  const jobIds: bigint[] = [];
  const recentProofs: ProofLog[] = [];
  let proofCount = 0;
  let provenTokens = 0n;
  const receipts: ReceiptCache = new Map();

  const creations = createLogFollower<CreationLog>({
    fromBlock,
    getLogs: (fromBlock, toBlock) =>
      client.getContractEvents({ address: marketplace, abi: marketplaceAbi, eventName: "SessionJobCreated", args: { host }, fromBlock, toBlock, strict: true }),
    onConfirmed: (logs) => {
      for (const log of logs) jobIds.push(log.args.jobId);
    },
  });
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

  /** The `count` newest of `confirmed` followed by `tail`, newest first, skipping the `skip` newest. */
  const newest = <T>(confirmed: readonly T[], tail: readonly T[], skip: number, count: number): T[] => {
    const all = confirmed.length + tail.length;
    const taken: T[] = [];
    for (let index = all - 1 - skip; index >= 0 && taken.length < count; index--)
      taken.push(index >= confirmed.length ? tail[index - confirmed.length]! : confirmed[index]!);
    return taken;
  };

  return {
    async read(head: bigint): Promise<HostHistoryView> {
      const [createdTail, proofTail] = await Promise.all([creations.follow(head), proofLogs.follow(head)]);
      return {
        sessionCount: jobIds.length + createdTail.length,
        provenTokens: proofTail.reduce((sum, log) => sum + log.args.tokens, provenTokens),
        proofCount: proofCount + proofTail.length,
        proofs: await withGas(client, newest(recentProofs, proofTail, 0, proofsShown), receipts),
        jobIds: (from, to) =>
          newest(
            jobIds,
            createdTail.map((log) => log.args.jobId),
            from,
            to - from,
          ),
      };
    },
  };
}

export type HostHistory = ReturnType<typeof createHostHistory>;
