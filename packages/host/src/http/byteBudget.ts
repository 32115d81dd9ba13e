/**
 * Bytes that work in progress may hold together (sync answers being written). A taker waits in
 * arrival order until its share fits; a share larger than the whole budget is cut to it, so that
 * one oversized taker runs alone instead of waiting for ever.
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

  return {
    get held() {
      return held;
    },
    /** The most bytes ever held at once. */
    get peak() {
      return peak;
    },
    /** Resolves with a release function once `bytes` are held. */
    async take(requested: number): Promise<() => void> {
      const bytes = Math.min(Math.max(0, requested), capacity);
      if (waiting.length === 0 && held + bytes <= capacity) hold(bytes);
      else await new Promise<void>((grant) => waiting.push({ bytes, grant }));
      let released = false;
      return () => {
        if (released) return;
        released = true;
        held -= bytes;
        parameters.onChange?.(held);
        while (waiting.length > 0 && held + waiting[0]!.bytes <= capacity) {
          const next = waiting.shift()!;
          hold(next.bytes);
          next.grant();
        }
      };
    },
  };
}

export type ByteBudget = ReturnType<typeof createByteBudget>;
