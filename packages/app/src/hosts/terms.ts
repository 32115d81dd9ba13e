import type { HostInfo, HostPolicy } from "@session-jobs/sdk";

/** The interval the page suggests where the host allows it: small on a local chain, so checkpoints show soon. */
export const preferredCheckpointInterval = (localChain: boolean) => (localChain ? 100n : 1000n);

/**
 * The largest checkpoint interval a new session with this host may ask for: its on-chain terms
 * (what `openSession` and the contract enforce), lowered to the node's own limit when its
 * `GET /v1/host` policy says less (an operator may lower the node before republishing terms).
 */
export function largestCheckpointInterval(host: Pick<HostInfo, "maxCheckpointInterval">, policy: Pick<HostPolicy, "limits"> | undefined): bigint {
  const node = policy?.limits.maxCheckpointInterval;
  return node !== undefined && node < host.maxCheckpointInterval ? node : host.maxCheckpointInterval;
}

/** The preferred interval when the host accepts it, else the host's largest. */
export const defaultCheckpointInterval = (preferred: bigint, largest: bigint) => (preferred <= largest ? preferred : largest);
