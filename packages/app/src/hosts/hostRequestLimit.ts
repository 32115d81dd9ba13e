/** How many requests the page sends to listed hosts at once, all hosts together. */
export const maxHostRequestsAtOnce = 4;

/** How long the page waits for one listed host's answer before it counts the host as not answering. */
export const hostRequestTimeoutMs = 5_000;

/**
 * Runs a task when fewer than the limit are running, else once one ends; first come, first served.
 * A task whose `signal` aborts while it waits is dropped without running (its promise rejects with
 * the signal's reason); a running task sees the abort through the signal it was given.
 */
export type ConcurrencyLimit = <T>(task: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

/** A {@link ConcurrencyLimit} that runs at most `concurrency` tasks at once. */
export function createConcurrencyLimit(concurrency: number): ConcurrencyLimit {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task, signal) => {
    signal?.throwIfAborted();
    if (running < concurrency) running++;
    // A task that ends hands its place to the next waiting one, so `running` never passes the limit.
    else await waitForPlace(waiting, signal);
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/** Waits in `waiting` until handed a place; leaves the line, never having taken a place, if `signal` aborts first. */
function waitForPlace(waiting: (() => void)[], signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((start, stop) => {
    const leave = () => {
      waiting.splice(waiting.indexOf(begin), 1);
      stop(signal!.reason);
    };
    const begin = () => {
      signal?.removeEventListener("abort", leave);
      start();
    };
    waiting.push(begin);
    signal?.addEventListener("abort", leave, { once: true });
  });
}

/** The signal for one request to a host: aborted when its query is (`signal`) or after {@link hostRequestTimeoutMs}. */
export function hostRequestSignal(signal: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(hostRequestTimeoutMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/**
 * The limit every request from the host list goes through (each card's health and policy): anyone
 * can register a host at any URL, so a page must never be the one that floods the URLs registered.
 */
export const limitHostRequest = createConcurrencyLimit(maxHostRequestsAtOnce);

/**
 * The lane of the chosen host's policy, the read that opening a session waits on: one request at a
 * time, never queued behind the list's requests to hosts that may never answer.
 */
export const limitChosenHostRequest = createConcurrencyLimit(1);
