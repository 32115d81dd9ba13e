import { describe, expect, it } from "vitest";
import { createConcurrencyLimit } from "./hostRequestLimit.ts";

/** A task that ends when the test says so. */
function pendingTask() {
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { run: () => done, finish, fail };
}

/** Lets every settled promise's callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("createConcurrencyLimit", () => {
  it("runs at most the limit at once, the rest in order as places free up, a failed task freeing its place too", async () => {
    const limit = createConcurrencyLimit(4);
    const tasks = Array.from({ length: 10 }, pendingTask);
    const started: number[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const results = tasks.map((task, index) =>
      limit(async () => {
        started.push(index);
        mostAtOnce = Math.max(mostAtOnce, ++running);
        try {
          await task.run();
        } finally {
          running--;
        }
      }),
    );
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);

    const firstFails = expect(results[0]).rejects.toThrow("host down");
    tasks[2]!.finish();
    tasks[0]!.fail(new Error("host down"));
    await settle();
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    await firstFails;

    for (const task of tasks) task.finish();
    await Promise.allSettled(results);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(mostAtOnce).toBe(4);
    expect(running).toBe(0);
  });

  it("runs a task at once again after everything has ended", async () => {
    const limit = createConcurrencyLimit(1);
    await Promise.all([limit(async () => 1), limit(async () => 2)]);
    expect(await limit(async () => "again")).toBe("again");
  });
});
