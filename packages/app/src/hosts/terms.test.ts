import { describe, expect, it } from "vitest";
import { defaultCheckpointInterval, largestCheckpointInterval } from "./terms.ts";

const policy = (maxCheckpointInterval: bigint) => ({
  limits: { maxCheckpointInterval, maxUnsignedTokens: undefined, maxTokens: 2000, defaultMaxTokens: 200, maxBodyBytes: 1 << 20 },
});

describe("host checkpoint terms", () => {
  it("takes the on-chain terms, lowered by the node's own smaller limit, never raised by a larger one", () => {
    expect(largestCheckpointInterval({ maxCheckpointInterval: 1000n }, undefined)).toBe(1000n);
    expect(largestCheckpointInterval({ maxCheckpointInterval: 1000n }, policy(500n))).toBe(500n);
    expect(largestCheckpointInterval({ maxCheckpointInterval: 1000n }, policy(100_000n))).toBe(1000n);
  });

  it("suggests the preferred interval only where the host accepts it", () => {
    expect(defaultCheckpointInterval(1000n, 100_000n)).toBe(1000n);
    expect(defaultCheckpointInterval(1000n, 250n)).toBe(250n);
  });
});
