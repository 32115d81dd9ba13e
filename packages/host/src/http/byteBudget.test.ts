import { describe, expect, it } from "vitest";
import { createByteBudget } from "./byteBudget.ts";

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
    first();
    (await second)();
    (await huge)();
    (await small)();
    expect(order).toEqual(["second", "huge", "small"]);
    expect(budget.peak).toBe(100);
    expect(budget.held).toBe(0);
  });
});
