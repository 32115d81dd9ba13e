/** Serialises async work per key: one holder at a time, others wait in arrival order. */
export function createKeyedMutex<K>() {
  const tails = new Map<K, Promise<void>>();
  /** Puts the caller last in the key's line: `previous` settles when those ahead are done, `release` lets the next one go. */
  const join = (key: K) => {
    const previous = tails.get(key);
    let done!: () => void;
    const held = new Promise<void>((resolve) => (done = resolve));
    const tail = (previous ?? Promise.resolve()).then(() => held);
    tails.set(key, tail);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      done();
      if (tails.get(key) === tail) tails.delete(key);
    };
    return { previous, release };
  };
  return {
    /** Resolves with a release function once the caller holds the key. */
    async acquire(key: K): Promise<() => void> {
      const { previous, release } = join(key);
      await previous;
      return release;
    },
    /** A release function if nobody holds or waits for the key now, else `undefined` (the caller does not wait). */
    tryAcquire(key: K): (() => void) | undefined {
      return tails.has(key) ? undefined : join(key).release;
    },
  };
}
