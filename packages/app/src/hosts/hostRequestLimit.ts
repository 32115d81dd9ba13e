/** How many requests the host list sends to listed hosts at once, all hosts together. */
export const maxHostRequestsAtOnce = 4;

/** How long the page waits for one listed host's answer before it counts the host as not answering. */
export const hostRequestTimeoutMs = 5_000;

/**
 * Runs a task when fewer than the limit are running, else once one ends; first come, first served.
 * A task whose `signal` aborts while it waits leaves the line without running (its promise rejects
 * with the signal's reason). Once running, a task keeps its place until its own promise settles,
 * whatever `signal` does: the limit counts what the task has under way, so a task must end only
 * when its work has (see {@link limitHostRequest}).
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
  return new Promise<void>((start, leave) => {
    const begin = () => {
      signal?.removeEventListener("abort", giveUp);
      start();
    };
    const giveUp = () => {
      waiting.splice(waiting.indexOf(begin), 1);
      leave(signal!.reason);
    };
    waiting.push(begin);
    signal?.addEventListener("abort", giveUp, { once: true });
  });
}

/**
 * The limit every request from the host list goes through (each card's health and policy): anyone
 * can register a host at any URL, so a page must never be the one that floods the URLs registered.
 * The bound is on requests as the hosts see them, so a request holds its place until its answer
 * has arrived whole or its {@link hostRequestTimeoutMs} gave it up: a card that goes away drops
 * its requests still waiting, never the one it has sent. A `fetch` aborted in Chromium rejects at
 * once, while its host learns of it later or not at all (most servers go on with the work), so a
 * place freed there let new requests start beside the old ones (12 open at once at the victims of
 * `test/hostPolling.test.ts`). Only a host silent for the whole timeout has its request given up
 * that way.
 */
export const limitHostRequest = createConcurrencyLimit(maxHostRequestsAtOnce);

/**
 * The lane of the chosen host's policy, the read that opening a session waits on: one request at a
 * time, never queued behind the list's requests to hosts that may never answer. So the page has at
 * most {@link maxHostRequestsAtOnce} + 1 requests to listed hosts open at once.
 */
export const limitChosenHostRequest = createConcurrencyLimit(1);
