/** Serialises async work per key: one holder at a time, others wait in arrival order. */
export function createKeyedMutex<K>() {
  const tails = new Map<K, Promise<void>>();
  return {
    /** Resolves with a release function once the caller holds the key. */
    async acquire(key: K): Promise<() => void> {
      const previous = tails.get(key) ?? Promise.resolve();
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const tail = previous.then(() => held);
      tails.set(key, tail);
      await previous;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        release();
        if (tails.get(key) === tail) tails.delete(key);
      };
    },
  };
}
