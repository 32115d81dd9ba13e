import { StoreDeploymentError } from "../errors.ts";
import type { StoreDeployment } from "./storeTypes.ts";

/** Where the store lives, for the hint: the SQLite file's path, or a PostgreSQL database. */
export type StoreWhere = { kind: "sqlite"; path: string } | { kind: "postgres" };

/**
 * The meta entries a database belongs to, in the order they are checked. `genesis` comes last, so
 * that a database from before it was recorded (chain id, contract and host only) adopts the chain's
 * genesis only once the others match.
 */
export function deploymentMeta(deployment: StoreDeployment): [key: string, value: string][] {
  return [
    ["chainId", String(deployment.chainId)],
    ["marketplace", deployment.marketplace.toLowerCase()],
    ["host", deployment.host.toLowerCase()],
    ...(deployment.genesis === undefined ? [] : [["genesis", deployment.genesis.toLowerCase()] as [string, string]]),
  ];
}

/** Why the database at `where` does not belong to `deployment`: `stored` is what it recorded for `key`, `value` what this node runs on. */
export function deploymentMismatch(where: StoreWhere, deployment: StoreDeployment, key: string, stored: string, value: string): StoreDeploymentError {
  const elsewhere = where.kind === "sqlite" ? `move ${where.path} away or point dbPath elsewhere` : "point store at an empty PostgreSQL database";
  if (key === "genesis")
    return new StoreDeploymentError(
      `the chain was reset: chain ${deployment.chainId}'s genesis block is ${value}, this database's is ${stored} (same chain id, contract and host key)`,
      `its sessions belong to the old chain: ${elsewhere} to start fresh (nothing was deleted)`,
    );
  return new StoreDeploymentError(
    `database belongs to ${key} ${stored}, not ${value}`,
    `${elsewhere}: use another database for another chain, contract or host key`,
  );
}
