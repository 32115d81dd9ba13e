import { marketplaceAbi } from "@session-jobs/sdk";
import type { Address, PublicClient } from "viem";
import { createLogFollower } from "./logFollower.ts";

/** A session as its `SessionJobCreated` log gives it. */
export type OpenedSession = { jobId: bigint; blockNumber: bigint };

/** What the logs add up to at one head. */
export type SessionLogView = {
  /** Every session of the filter opened up to the head. */
  count: number;
  /** Sessions `from` to `to` (exclusive), newest first. */
  newestFirst: (from: number, to: number) => OpenedSession[];
};

type CreationLog = { args: { jobId: bigint }; blockNumber: bigint };

/**
 * The sessions opened with one host or by one depositor (the indexed `host` or `depositor` of
 * `SessionJobCreated`), read once each and kept (logFollower.ts): a round reads one `eth_getLogs`
 * over the new blocks and the reorg window, whatever the history holds.
 */
export function createSessionLog(parameters: {
  client: PublicClient;
  marketplace: Address;
  fromBlock: bigint;
  opened: { host: Address } | { depositor: Address };
}) {
  const { client, marketplace, fromBlock, opened } = parameters;
  /** Confirmed sessions, in chain order. */
  const confirmed: OpenedSession[] = [];
  const opening = (log: CreationLog): OpenedSession => ({ jobId: log.args.jobId, blockNumber: log.blockNumber });
  const creations = createLogFollower<CreationLog>({
    fromBlock,
    getLogs: (fromBlock, toBlock) =>
      client.getContractEvents({ address: marketplace, abi: marketplaceAbi, eventName: "SessionJobCreated", args: opened, fromBlock, toBlock, strict: true }),
    onConfirmed: (logs) => {
      for (const log of logs) confirmed.push(opening(log));
    },
  });
  return {
    async read(head: bigint): Promise<SessionLogView> {
      const tail = (await creations.follow(head)).map(opening);
      return { count: confirmed.length + tail.length, newestFirst: (from, to) => newest(confirmed, tail, from, to - from) };
    },
  };
}

export type SessionLog = ReturnType<typeof createSessionLog>;

/** The `count` newest of `confirmed` followed by `tail`, newest first, skipping the `skip` newest. */
export function newest<T>(confirmed: readonly T[], tail: readonly T[], skip: number, count: number): T[] {
  const all = confirmed.length + tail.length;
  const taken: T[] = [];
  for (let index = all - 1 - skip; index >= 0 && taken.length < count; index--)
    taken.push(index >= confirmed.length ? tail[index - confirmed.length]! : confirmed[index]!);
  return taken;
}
