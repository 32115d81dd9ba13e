/** TEST HELPER: a promise's outcome, readable at any moment (`done` false while it is pending). */
export function settled<T>(promise: Promise<T>) {
  const state: { value?: T; error?: unknown; done: boolean } = { done: false };
  promise.then(
    (value) => Object.assign(state, { value, done: true }),
    (error: unknown) => Object.assign(state, { error, done: true }),
  );
  return state;
}

/** TEST HELPER: lets I/O and promise callbacks run until `done` holds (turns of the event loop, no wall-clock wait). */
export async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
}
