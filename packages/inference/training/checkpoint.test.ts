import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCheckpoint, saveCheckpoint, type CheckpointState } from "./checkpoint.ts";

describe("training checkpoint", () => {
  const dir = mkdtempSync(join(tmpdir(), "checkpoint-"));

  it("reads back exactly what was saved, arrays of any length included", () => {
    const state: CheckpointState = {
      recipe: JSON.stringify({ name: "r", steps: 3 }),
      step: 2,
      rng: [1, -2, 3, 4, 1, 0.5],
      runningLoss: 1.25,
      seconds: 7,
      history: [{ step: 1, loss: 2 }],
      arrays: [Float32Array.from([1, 2, 3]), new Float32Array(0), Float32Array.from({ length: 1001 }, (_, i) => i / 7)],
    };
    const path = join(dir, "a.checkpoint");
    saveCheckpoint(path, state);
    expect(loadCheckpoint(path)).toEqual(state);
  });

  it("has nothing to resume from a missing file, and refuses a file that is not a checkpoint", () => {
    expect(loadCheckpoint(join(dir, "none.checkpoint"))).toBeUndefined();
    const path = join(dir, "bad.checkpoint");
    writeFileSync(path, "GGUF and other bytes");
    expect(() => loadCheckpoint(path)).toThrow(/not a training checkpoint/);
  });
});
