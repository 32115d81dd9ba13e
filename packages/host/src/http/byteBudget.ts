/**
 * Bytes that work in progress may hold together (sync answers being written). Takers are served in
 * the order of their places in line until their share fits; a share larger than the whole budget is
 * cut to it, so that one oversized taker runs alone instead of waiting for ever. A taker that comes
 * back (it held its bytes but could not use them) keeps its place: it is served before those that
 * came after it. A taker whose signal aborts (its client has gone) leaves the line at once, so it
 * never holds up those behind it.
 */
export function createByteBudget(parameters: { capacity: number; onChange?: (held: number) => void }) {
  const { capacity } = parameters;
  /** Those waiting, in the order of their places. */
  const waiting: { bytes: number; place: number; grant: () => void }[] = [];
  let held = 0;
  let peak = 0;
  let places = 0;

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
    /** A place in line behind every one given before: a taker keeps it across its tries. */
    place(): number {
      return places++;
    },
    /** A release function if `bytes` are held now, `undefined` if they do not fit or anyone waits. */
    takeNow(requested: number): (() => void) | undefined {
      const bytes = share(requested);
      if (waiting.length > 0 || held + bytes > capacity) return undefined;
      hold(bytes);
      return releaser(bytes);
    },
    /**
     * Resolves with a release function once `bytes` are held, waiting behind those with an earlier
     * place (by default, behind everyone), or with `undefined` if `signal` aborts first.
     */
    async take(requested: number, signal?: AbortSignal, place = places++): Promise<(() => void) | undefined> {
      if (signal?.aborted) return undefined;
      const bytes = share(requested);
      if ((waiting.length === 0 || waiting[0]!.place > place) && held + bytes <= capacity) hold(bytes);
      else {
        const granted = await new Promise<boolean>((resolve) => {
          const waiter = {
            bytes,
            place,
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
          const behind = waiting.findIndex((other) => other.place > place);
          waiting.splice(behind === -1 ? waiting.length : behind, 0, waiter);
        });
        if (!granted) return undefined;
      }
      return releaser(bytes);
    },
  };
}

export type ByteBudget = ReturnType<typeof createByteBudget>;
