import { describe, expect, it } from "vitest";
import { ConcurrencyLimit } from "./concurrencyLimit.ts";

describe("ConcurrencyLimit", () => {
  it("admits up to the limit and the rest first in, first out", async () => {
    const limit = new ConcurrencyLimit(2);
    const order: number[] = [];
    const a = await limit.acquire();
    const b = await limit.acquire();
    const waiting = [3, 4].map((n) => limit.acquire().then((release) => (order.push(n), release)));
    expect(limit.waiting).toBe(2);
    a!();
    b!();
    const [c, d] = await Promise.all(waiting);
    expect(order).toEqual([3, 4]);
    expect(limit.running).toBe(2);
    c!();
    d!();
    expect(limit.running).toBe(0);
  });

  it("drops a waiter whose signal aborts, without taking a slot", async () => {
    const limit = new ConcurrencyLimit(1);
    const release = await limit.acquire();
    const controller = new AbortController();
    const waiter = limit.acquire(controller.signal);
    controller.abort();
    expect(await waiter).toBeUndefined();
    expect(limit.waiting).toBe(0);
    release!();
    release!(); // releasing twice is harmless
    expect(limit.running).toBe(0);
  });
});
