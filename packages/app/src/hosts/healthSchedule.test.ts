import { describe, expect, it } from "vitest";
import { failedInARowAfter, healthCheckIntervalMs, longestHealthCheckIntervalMs, nextHealthCheckMs } from "./healthSchedule.ts";

describe("when a listed host's health is checked again", () => {
  it("every 15 s while it answers, twice as long after each failure, never longer than 10 min", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 50, 5000].map(nextHealthCheckMs)).toEqual([
      15_000, 30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000, 600_000, 600_000,
    ]);
    expect(nextHealthCheckMs(0)).toBe(healthCheckIntervalMs);
    expect(nextHealthCheckMs(Number.MAX_SAFE_INTEGER)).toBe(longestHealthCheckIntervalMs);
  });

  it("counts failed checks in a row, and starts again from none once the host answers", () => {
    expect(failedInARowAfter(undefined, false)).toBe(1);
    expect(failedInARowAfter(3, false)).toBe(4);
    expect(failedInARowAfter(3, true)).toBe(0);
    expect(failedInARowAfter(undefined, true)).toBe(0);
  });

  it("a dead host is checked 5 times in its first 10 minutes (at 0 s, 30 s, 1.5, 3.5 and 7.5 min) and 6 times an hour after that; one that answers, 40 times", () => {
    const checksWithin = (ms: number, ok: boolean) => {
      let checks = 0;
      let failed = 0;
      for (let at = 0; at <= ms; at += nextHealthCheckMs(failed)) {
        checks++;
        failed = failedInARowAfter(failed, ok);
      }
      return checks;
    };
    expect(checksWithin(10 * 60_000 - 1, false)).toBe(5);
    expect(checksWithin(70 * 60_000 - 1, false) - checksWithin(10 * 60_000 - 1, false)).toBe(6);
    expect(checksWithin(10 * 60_000 - 1, true)).toBe(40);
  });
});
