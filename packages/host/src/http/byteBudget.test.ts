import { describe, expect, it } from "vitest";
import { createByteBudget } from "./byteBudget.ts";
import { settled, until } from "../testUtils/promiseState.ts";

describe("byte budget", () => {
  it("lets takers hold at most the capacity together, in arrival order, and runs an oversized one alone", async () => {
    const budget = createByteBudget({ capacity: 100 });
    const order: string[] = [];
    const first = await budget.take(60);
    const second = budget.take(60).then((release) => (order.push("second"), release));
    const huge = budget.take(1_000).then((release) => (order.push("huge"), release));
    const small = budget.take(10).then((release) => (order.push("small"), release));
    await Promise.resolve();
    // The small one fits, but waits its turn behind the second: no taker is starved.
    expect(order).toEqual([]);
    first!();
    (await second)!();
    (await huge)!();
    (await small)!();
    expect(order).toEqual(["second", "huge", "small"]);
    expect(budget.peak).toBe(100);
    expect(budget.held).toBe(0);
  });
});

describe("a waiter whose client has gone", () => {
  it("leaves the queue at once: those behind it are served in its place, and nothing is held for it", async () => {
    const budget = createByteBudget({ capacity: 100 });
    const first = await budget.take(60);
    const gone = new AbortController();
    const stuck = settled(budget.take(60, gone.signal));
    const behind = settled(budget.take(30));
    await new Promise((resolve) => setImmediate(resolve));
    // The one behind fits beside the first, but waits its turn behind the 60.
    expect(behind.done).toBe(false);
    gone.abort();
    await until(() => stuck.done && behind.done);
    expect(stuck.value).toBeUndefined();
    expect(budget.held).toBe(90);
    first!();
    (behind.value as () => void)();
    expect(budget.held).toBe(0);
  });

  it("is not queued when its client left before it asked", async () => {
    const budget = createByteBudget({ capacity: 100 });
    const release = await budget.take(100);
    expect(await budget.take(10, AbortSignal.abort())).toBeUndefined();
    release!();
    expect(budget.held).toBe(0);
    expect(budget.peak).toBe(100);
  });
});

describe("places in line", () => {
  it("takes at once only what fits while nobody waits", async () => {
    const budget = createByteBudget({ capacity: 100 });
    const first = budget.takeNow(60);
    expect(budget.takeNow(50)).toBeUndefined();
    const queued = settled(budget.take(50));
    await new Promise((resolve) => setImmediate(resolve));
    // 30 fits, but the 50 waits.
    expect(budget.takeNow(30)).toBeUndefined();
    first!();
    await until(() => queued.done);
    expect(budget.takeNow(30)).toBeDefined();
    expect(budget.held).toBe(80);
  });

  it("queues a taker that comes back at its place: ahead of those that came after it, behind those before", async () => {
    const budget = createByteBudget({ capacity: 100 });
    const [first, second] = [budget.place(), budget.place()];
    const holder = await budget.take(100);
    const order: string[] = [];
    const taken = (name: string) => (release: (() => void) | undefined) => (order.push(name), release!());
    const later = budget.take(60).then(taken("later"));
    const back = budget.take(60, undefined, second).then(taken("second"));
    const front = budget.take(60, undefined, first).then(taken("first"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    holder!();
    await Promise.all([later, back, front]);
    expect(order).toEqual(["first", "second", "later"]);
    expect(budget.held).toBe(0);
    expect(budget.peak).toBe(100);
  });
});
