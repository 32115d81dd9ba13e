import { zeroHash } from "viem";
import { describe, expect, it } from "vitest";
import { describeSessionModel } from "./clientStatus.ts";

describe("client status's model row", () => {
  it("says none for a session opened without a model, not the zero id", () => {
    expect(describeSessionModel(zeroHash)).toBe("none (opened without a model: whatever the host serves)");
  });

  it("shows a model id as it is, and says when the event could not be read", () => {
    const id = `0x${"ab".repeat(32)}` as const;
    expect(describeSessionModel(id)).toBe(id);
    expect(describeSessionModel(undefined)).toBe("(not stored on chain; its SessionJobCreated event could not be read)");
  });
});
