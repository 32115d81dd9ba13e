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
    // A transaction seen twice (a proof event, then the settlement it was part of) keeps its place
    // and takes the later, more specific label.
    record: (entry) => {
      const known = entries.findIndex((existing) => existing.hash === entry.hash);
      if (known === -1) entries.push(entry);
      else entries[known] = entry;
    },
    entries: () => entries,
    resolve: (client) => Promise.all(entries.map(async (entry) => ({ ...entry, gasUsed: (await client.getTransactionReceipt({ hash: entry.hash })).gasUsed }))),
  };
}
