/**
 * Aborts `controller` when `source` aborts, with its reason; returns the unlink function. Used
 * instead of `AbortSignal.any`, whose combined signal is only weakly held by its sources (and
 * by `fetch`): once collected, an abort no longer reaches the request, and a stream a user
 * stopped would go on billing. A listener on the source holds the controller strongly.
 */
export function followSignal(source: AbortSignal | undefined, controller: AbortController): () => void {
  if (!source) return () => undefined;
  if (source.aborted) {
    controller.abort(source.reason);
    return () => undefined;
  }
  const onAbort = () => controller.abort(source.reason);
  source.addEventListener("abort", onAbort, { once: true });
  return () => source.removeEventListener("abort", onAbort);
}

/** `promise`, or `signal`'s reason once it aborts first: the caller stops waiting, the work goes on. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Waits `ms`, or less if a signal fires first (listeners, not `AbortSignal.any`: see `followSignal`). */
export function pause(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  const given = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  if (given.some((signal) => signal.aborted)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const signal of given) signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const signal of given) signal.addEventListener("abort", done, { once: true });
  });
}
