import type { HostRetry } from "@session-jobs/sdk";

/**
 * What a close in progress waits for: the host's first answer (`host`); the host again, asked while
 * it does not answer, until `endsAt` (`retrying`, the SDK's `onHostRetry`); the host's settlement
 * being mined (`hostSettling`, `onHostSettling`); or, the bound passed, the wallet's (`walletSettling`).
 */
export type CloseProgress =
  { stage: "host" } | { stage: "retrying"; retry: HostRetry; endsAt: number } | { stage: "hostSettling" } | { stage: "walletSettling" };

/** The progress after a retry reported at `now` (ms, `Date.now()`): asking the host ends at the close's bound. */
export function retrying(retry: HostRetry, now: number): CloseProgress {
  return { stage: "retrying", retry, endsAt: now + retry.hostTimeoutMs - retry.waitedMs };
}

/** The one line the page shows while a close is pending; `forcedWaitS` is set for a forced close (the host's last seconds). */
export function closeWaitingText(progress: CloseProgress, forcedWaitS: number | undefined): string {
  switch (progress.stage) {
    case "retrying":
      return `The host does not answer (it may be restarting): asking it again for up to ${Math.ceil((progress.retry.hostTimeoutMs - progress.retry.waitedMs) / 1000)} s; then your wallet settles on chain for what the host has proven.`;
    case "hostSettling":
      return "The host answered and sent its settlement: waiting for the chain to confirm it.";
    case "walletSettling":
      return "The host did not settle in time: your wallet settles on chain for what the host has proven.";
    case "host":
      return forcedWaitS !== undefined
        ? `Giving the host ${forcedWaitS} s more to settle; then your wallet settles on chain.`
        : "Waiting for the host to settle (at most a minute); if it does not answer, your wallet settles on chain for what the host has proven.";
  }
}
