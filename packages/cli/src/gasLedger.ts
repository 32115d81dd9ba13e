import type { Hash, PublicClient } from "viem";

/** One transaction the user should see the cost of. */
export type LedgerEntry = { label: string; hash: Hash; payer: string };

/** Collects transactions as they happen and reads their gas when asked. */
export type GasLedger = {
  record: (entry: LedgerEntry) => void;
  entries: () => readonly LedgerEntry[];
  /** `gasUsed` of every recorded transaction, in recording order. */
  resolve: (client: PublicClient) => Promise<(LedgerEntry & { gasUsed: bigint })[]>;
};

export function createGasLedger(): GasLedger {
  const entries: LedgerEntry[] = [];
  return {
    record: (entry) => {
      if (!entries.some((known) => known.hash === entry.hash)) entries.push(entry);
    },
    entries: () => entries,
    resolve: (client) =>
      Promise.all(entries.map(async (entry) => ({ ...entry, gasUsed: (await client.getTransactionReceipt({ hash: entry.hash })).gasUsed }))),
  };
}
