import { describe, expect, it } from "vitest";
import { frameThrottle } from "./frameThrottle.ts";

/** Animation frames the test runs by hand. */
function frames() {
  const queued: (() => void)[] = [];
  return { request: (callback: () => void) => void queued.push(callback), next: () => queued.splice(0).forEach((callback) => callback()), queued };
}

describe("frameThrottle", () => {
  it("redraws once per frame however many deltas arrived in it", () => {
    const frame = frames();
    let redraws = 0;
    const redraw = frameThrottle(() => redraws++, frame.request);
    for (let i = 0; i < 10_000; i++) redraw.schedule();
    expect([redraws, frame.queued.length]).toEqual([0, 1]);
    frame.next();
    expect(redraws).toBe(1);
    redraw.schedule();
    redraw.schedule();
    frame.next();
    expect(redraws).toBe(2);
  });

  it("flush redraws now what is pending, and the frame then redraws nothing", () => {
    const frame = frames();
    let redraws = 0;
    const redraw = frameThrottle(() => redraws++, frame.request);
    redraw.flush();
    expect(redraws).toBe(0);
    redraw.schedule();
    redraw.flush();
    frame.next();
    expect(redraws).toBe(1);
  });
});
