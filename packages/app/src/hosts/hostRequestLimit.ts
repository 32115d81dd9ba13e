/** How many requests the page sends to listed hosts at once, all hosts together. */
export const maxHostRequestsAtOnce = 4;

/** How long the page waits for one listed host's answer before it counts the host as not answering. */
export const hostRequestTimeoutMs = 5_000;

/** Runs a task when fewer than the limit are running, else once one ends; first come, first served. */
export type ConcurrencyLimit = <T>(task: () => Promise<T>) => Promise<T>;

/** A {@link ConcurrencyLimit} that runs at most `concurrency` tasks at once. */
export function createConcurrencyLimit(concurrency: number): ConcurrencyLimit {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running < concurrency) running++;
    // A task that ends hands its place to the next waiting one, so `running` never passes the limit.
    else await new Promise<void>((start) => waiting.push(start));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/**
 * The limit every request to a listed host goes through (health, policy): anyone can register a
 * host at any URL, so a page must never be the one that floods the URLs registered.
 */
export const limitHostRequest = createConcurrencyLimit(maxHostRequestsAtOnce);
