import { describe, expect, it } from "vitest";
import { createConcurrencyLimit, limitChosenHostRequest, limitHostRequest, maxHostRequestsAtOnce } from "./hostRequestLimit.ts";

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

  it("drops a waiting task whose signal aborted without running it, and keeps the place for the next one", async () => {
    const limit = createConcurrencyLimit(1);
    const first = pendingTask();
    const started: string[] = [];
    const running = limit(async () => {
      started.push("first");
      await first.run();
    });
    const gone = new AbortController();
    const dropped = limit(async () => {
      started.push("unmounted card");
    }, gone.signal);
    const next = limit(async () => {
      started.push("next");
    });
    gone.abort(new Error("card unmounted"));
    first.finish();
    await Promise.all([running, next]);
    expect(started).toEqual(["first", "next"]);
    await expect(dropped).rejects.toThrow("card unmounted");
    await expect(limit(async () => "again", AbortSignal.abort(new Error("aborted before")))).rejects.toThrow("aborted before");
  });

  it("keeps a running task's place until the task itself ends, though its signal aborted", async () => {
    const limit = createConcurrencyLimit(1);
    const sent = pendingTask();
    const gone = new AbortController();
    const started: string[] = [];
    const running = limit(async () => {
      started.push("sent request");
      await sent.run();
      return "answered";
    }, gone.signal);
    const next = limit(async () => {
      started.push("next");
    });
    await settle();
    gone.abort(new Error("card unmounted"));
    await settle();
    expect(started).toEqual(["sent request"]);
    sent.finish();
    expect(await running).toBe("answered");
    await next;
    expect(started).toEqual(["sent request", "next"]);
  });

  it("reads the chosen host's policy in its own lane, not behind list requests to hosts that never answer", async () => {
    const hanging = Array.from({ length: 2 * maxHostRequestsAtOnce }, pendingTask);
    const listRequests = hanging.map((task) => limitHostRequest(task.run));
    await settle();
    expect(await limitChosenHostRequest(async () => "policy")).toBe("policy");
    for (const task of hanging) task.finish();
    await Promise.all(listRequests);
  });
});
