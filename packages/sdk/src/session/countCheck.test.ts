import { describe, expect, it } from "vitest";
import { emptyTranscriptHash } from "@session-jobs/protocol";
import { checkTokenCounts } from "./countCheck.ts";

const usage = (promptTokens: number, completionTokens: number, cumulativeTokens: bigint) => ({
  jobId: "1",
  promptTokens,
  completionTokens,
  cumulativeTokens: cumulativeTokens.toString(),
  transcriptHash: emptyTranscriptHash,
});

describe("checkTokenCounts", () => {
  const request = { messages: [{ role: "user", content: "héllo" }], max_tokens: 10 };
  const options = { promptOverheadPerMessage: 3, promptOverheadPerRequest: 2 };

  it("accepts a claim within every bound", () => {
    // prompt limit: "user" (4) + "héllo" (6 bytes) + 3 + 2 = 15; completion limit: 4 bytes + 1 = 5
    expect(checkTokenCounts({ request, responseText: "abcd", usage: usage(15, 5, 120n), previousCumulativeTokens: 100n, options })).toEqual([]);
  });

  it("names each bound a claim breaks", () => {
    const violations = checkTokenCounts({ request, responseText: "abcd", usage: usage(16, 6, 200n), previousCumulativeTokens: 100n, options });
    expect(violations).toEqual([
      expect.objectContaining({ field: "completionTokens", claimed: 6n, limit: 5n }),
      expect.objectContaining({ field: "promptTokens", claimed: 16n, limit: 15n }),
      expect.objectContaining({ field: "cumulativeTokens", claimed: 200n, limit: 122n }),
    ]);
  });

  it("allows the tokens of a stop sequence that was generated but cut from the text", () => {
    const stopped = { ...request, max_tokens: 20, stop: ["\n\n", "Amen."] };
    // completion limit: 4 bytes + 1 + "Amen." (5) = 10
    expect(checkTokenCounts({ request: stopped, responseText: "abcd", usage: usage(15, 10, 125n), previousCumulativeTokens: 100n, options })).toEqual([]);
    expect(checkTokenCounts({ request: stopped, responseText: "abcd", usage: usage(15, 11, 126n), previousCumulativeTokens: 100n, options })).toEqual([
      expect.objectContaining({ field: "completionTokens", claimed: 11n, limit: 10n }),
    ]);
  });

  it("applies max_tokens and max_completion_tokens", () => {
    const violations = checkTokenCounts({
      request: { ...request, max_tokens: undefined, max_completion_tokens: 2 },
      responseText: "abcdef",
      usage: usage(1, 3, 4n),
      previousCumulativeTokens: 0n,
      options,
    });
    expect(violations).toEqual([expect.objectContaining({ field: "completionTokens", claimed: 3n, limit: 2n })]);
  });

  it("rejects counts that are not non-negative integers", () => {
    const violations = checkTokenCounts({ request, responseText: "abcd", usage: usage(-1, 1.5, 0n), previousCumulativeTokens: 0n });
    expect(violations.map((violation) => violation.field)).toEqual(["promptTokens", "completionTokens"]);
  });
});
