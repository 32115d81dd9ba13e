import { describe, expect, it } from "vitest";
import { StopSequenceFilter } from "./stopSequences.ts";

function run(stops: string[], pieces: string[]): { delivered: string; stopped: boolean } {
  const filter = new StopSequenceFilter(stops);
  let delivered = "";
  for (const piece of pieces) {
    const { deliver, stopped } = filter.push(piece);
    delivered += deliver;
    if (stopped) return { delivered, stopped };
  }
  return { delivered: delivered + filter.flush(), stopped: false };
}

describe("StopSequenceFilter", () => {
  it("passes text through without stop sequences", () => {
    expect(run([], ["a", "b"])).toEqual({ delivered: "ab", stopped: false });
  });

  it("cuts before a stop sequence that arrives one character at a time", () => {
    expect(run(["END"], [..."abcENDxyz"])).toEqual({ delivered: "abc", stopped: true });
  });

  it("never delivers a partial stop sequence, and releases it when it does not complete", () => {
    const filter = new StopSequenceFilter(["\n\n"]);
    expect(filter.push("a\n")).toEqual({ deliver: "a", stopped: false });
    expect(filter.push("b")).toEqual({ deliver: "\nb", stopped: false });
  });

  it("stops at the earliest of several stop sequences", () => {
    expect(run(["cd", "b"], ["abcd"])).toEqual({ delivered: "a", stopped: true });
  });

  it("flushes a held-back prefix when generation ends", () => {
    expect(run(["xyz"], ["abx"])).toEqual({ delivered: "abx", stopped: false });
  });
});
