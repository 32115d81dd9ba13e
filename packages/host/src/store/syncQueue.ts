/**
 * Orders the syncs that make committed writes durable: at most one in flight, and whoever needs
 * what is committed now to be durable waits for the first sync that starts after it (one in flight
 * may have been issued before those writes reached the file). Everything committed while a sync
 * runs shares the next one, so syncs per second stop growing with commits per second.
 *
 * A sync that fails is a storage fault for good, never retried: the kernel may have dropped the
 * dirty pages it could not write and report the next sync as a success. Every caller waiting for
 * it or for a later one is rejected with `syncFailed`'s error, and so is everyone who asks after.
 */
export function createSyncQueue(parameters: {
  /** Makes everything written before it was called durable (fdatasync of the WAL, in libuv's thread pool). */
  sync: () => Promise<void>;
  /** Turns a failed sync into each waiting caller's error (the store's storage fault). */
  syncFailed: (error: unknown) => unknown;
}) {
  /** Commits so far, and how many of them the last sync that returned covers. */
  let committed = 0;
  let synced = 0;
  let inFlight = false;
  let failure: { fault: unknown } | undefined;
  let waiting: { upTo: number; resolve: () => void; reject: (fault: unknown) => void }[] = [];
  const stats = { syncs: 0 };

  function start(): void {
    if (inFlight || waiting.length === 0) return;
    const upTo = committed;
    inFlight = true;
    stats.syncs += 1;
    new Promise<void>((resolve) => resolve(parameters.sync())).then(
      () => {
        inFlight = false;
        synced = upTo;
        const done = waiting.filter((waiter) => waiter.upTo <= upTo);
        waiting = waiting.filter((waiter) => waiter.upTo > upTo);
        for (const waiter of done) waiter.resolve();
        start();
      },
      (error: unknown) => {
        inFlight = false;
        failure = { fault: parameters.syncFailed(error) };
        const failed = waiting;
        waiting = [];
        for (const waiter of failed) waiter.reject(failure.fault);
      },
    );
  }

  return {
    /** Counts a commit that has returned: its writes are in the file, not yet on the disk. */
    committed(): void {
      committed += 1;
    },
    /** Resolves once everything committed so far is durable: at once when nothing is unsynced, else after the next sync. */
    synced(): Promise<void> {
      if (failure) return Promise.reject(failure.fault);
      if (synced === committed) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiting.push({ upTo: committed, resolve, reject });
        start();
      });
    },
    /** The storage fault a failed sync left, if one did. */
    failed: (): { fault: unknown } | undefined => failure,
    /** Syncs started so far (tests, metrics). */
    stats: stats as Readonly<typeof stats>,
  };
}

export type SyncQueue = ReturnType<typeof createSyncQueue>;
