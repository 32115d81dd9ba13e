import { createPostgresStore } from "./postgresStore.ts";
import { createStore } from "./sqliteStore.ts";
import type { Store, StoreDeployment } from "./storeTypes.ts";

/** Where the store lives: the embedded SQLite file (one process), or a PostgreSQL database shared by several processes. */
export type StoreLocation =
  | { kind: "sqlite"; path: string }
  /** `queryTimeoutMs`: the store's default (15 s) when left out. */
  | { kind: "postgres"; url: string; poolSize: number; queryTimeoutMs?: number };

/** Opens the store the configuration names, brought up to this schema, for this deployment. */
export async function openStore(parameters: {
  location: StoreLocation;
  deployment: StoreDeployment;
  now?: () => number;
  onFault?: (fault: string) => void;
  /** PostgreSQL: the fault ended (a lost lock connection was made anew). */
  onRecovered?: () => void;
  /** SQLite: told of each committed group of writes, with its size. */
  onCommit?: (writes: number) => void;
  leaderRetryMs?: number;
}): Promise<Store> {
  const { location, onCommit, ...rest } = parameters;
  if (location.kind === "sqlite") return createStore({ path: location.path, ...rest, ...(onCommit && { onCommit }) });
  const { url, poolSize, queryTimeoutMs } = location;
  return createPostgresStore({ url, poolSize, ...(queryTimeoutMs !== undefined && { queryTimeoutMs }), ...rest });
}
