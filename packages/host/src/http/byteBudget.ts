/**
 * Bytes that work in progress may hold together (sync answers being written). A taker waits in
 * arrival order until its share fits; a share larger than the whole budget is cut to it, so that
 * one oversized taker runs alone instead of waiting for ever. A taker whose signal aborts (its
 * client has gone) leaves the queue at once, so it never holds up those behind it.
 */
export function createByteBudget(parameters: { capacity: number; onChange?: (held: number) => void }) {
  const { capacity } = parameters;
  const waiting: { bytes: number; grant: () => void }[] = [];
  let held = 0;
  let peak = 0;

  const hold = (bytes: number) => {
    held += bytes;
    peak = Math.max(peak, held);
    parameters.onChange?.(held);
  };
  const share = (requested: number) => Math.min(Math.max(0, requested), capacity);
  const releaser = (bytes: number) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held -= bytes;
      parameters.onChange?.(held);
      grantWaiting();
    };
  };
  const grantWaiting = () => {
    while (waiting.length > 0 && held + waiting[0]!.bytes <= capacity) {
      const next = waiting.shift()!;
      hold(next.bytes);
      next.grant();
    }
  };

  return {
    get held() {
      return held;
    },
    /** The most bytes ever held at once. */
    get peak() {
      return peak;
    },
    /**
     * A release function if `bytes` are held now, `undefined` if they do not fit or a taker waits
     * ahead. With `overtake`, those waiting are passed: for a taker that already waited its turn in
     * the queue, gave the bytes back and came back for them.
     */
    takeNow(requested: number, options: { overtake?: boolean } = {}): (() => void) | undefined {
      const bytes = share(requested);
      if ((waiting.length > 0 && !options.overtake) || held + bytes > capacity) return undefined;
      hold(bytes);
      return releaser(bytes);
    },
    /** Resolves with a release function once `bytes` are held, or with `undefined` if `signal` aborts first. */
    async take(requested: number, signal?: AbortSignal): Promise<(() => void) | undefined> {
      if (signal?.aborted) return undefined;
      const bytes = share(requested);
      if (waiting.length === 0 && held + bytes <= capacity) hold(bytes);
      else {
        const granted = await new Promise<boolean>((resolve) => {
          const waiter = {
            bytes,
            grant: () => {
              signal?.removeEventListener("abort", leave);
              resolve(true);
            },
          };
          const leave = () => {
            waiting.splice(waiting.indexOf(waiter), 1);
            grantWaiting();
            resolve(false);
          };
          signal?.addEventListener("abort", leave, { once: true });
          waiting.push(waiter);
        });
        if (!granted) return undefined;
      }
      return releaser(bytes);
    },
  };
}

export type ByteBudget = ReturnType<typeof createByteBudget>;
