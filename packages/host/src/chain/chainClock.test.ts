import { describe, expect, it } from "vitest";
import { createChainClock } from "./chainClock.ts";

describe("chain clock", () => {
  it("counts on from the newest block on the monotonic clock, and a newer block sets it, either way", () => {
    let monotonicMs = 5_000;
    const clock = createChainClock({ number: 10n, timestamp: 1_000n }, () => monotonicMs);
    expect(clock.nowSeconds()).toBe(1_000n);
    monotonicMs += 2_999; // a chain that mines rarely: its time goes on between blocks
    expect(clock.nowSeconds()).toBe(1_002n);
    clock.observe({ number: 11n, timestamp: 4_700n }); // moved on (anvil's evm_increaseTime)
    expect([clock.blockNumber, clock.nowSeconds()]).toEqual([11n, 4_700n]);
    monotonicMs += 60_000; // a stalled chain or an unreachable RPC: it runs on
    expect(clock.nowSeconds()).toBe(4_760n);
    clock.observe({ number: 11n, timestamp: 9_999n }); // no newer block: nothing changes
    clock.observe({ number: 9n, timestamp: 9_999n });
    expect(clock.nowSeconds()).toBe(4_760n);
    clock.observe({ number: 12n, timestamp: 4_730n }); // a chain whose time runs slower than real time
    expect(clock.nowSeconds()).toBe(4_730n);
  });
});
