import { describe, expect, it } from "vitest";
import { emptyTranscriptHash } from "@session-jobs/protocol";
import { keccak256, stringToBytes } from "viem";
import { checkTokenCounts, defaultCountCheck } from "./countCheck.ts";

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

  describe("an answer's bytes are bounded by its completion tokens", () => {
    const bound = { ...options, maxAnswerBytesPerToken: 4 };
    const check = (responseText: string, completionTokens: number) =>
      checkTokenCounts({
        request,
        responseText,
        usage: usage(15, completionTokens, BigInt(15 + completionTokens)),
        previousCumulativeTokens: 0n,
        options: bound,
      });

    it("accepts (completion tokens + 1) × maxAnswerBytesPerToken UTF-8 bytes and refuses one byte more", () => {
      // 2 completion tokens: at most (2 + 1) × 4 = 12 bytes; "é" is 2 bytes, so 6 of them are 12.
      expect(check("é".repeat(6), 2)).toEqual([]);
      expect(check(`${"é".repeat(6)}a`, 2)).toEqual([
        expect.objectContaining({ field: "completionTokens", claimed: 2n, limit: 3n, reason: expect.stringMatching(/fewer than/) }),
      ]);
      expect(check("abcd", 0)).toEqual([]);
      expect(check("abcde", 0)).toEqual([expect.objectContaining({ field: "completionTokens", claimed: 0n, limit: 1n })]);
    });

    it("by default allows 256 bytes a token (the longest tokens of cl100k/o200k are 128 bytes), so a one-line answer cannot hide a megabyte", () => {
      expect(defaultCountCheck.maxAnswerBytesPerToken).toBe(256);
      const check = (responseText: string, completionTokens: number) =>
        checkTokenCounts({ request, responseText, usage: usage(15, completionTokens, BigInt(15 + completionTokens)), previousCumulativeTokens: 0n, options });
      expect(check(" ".repeat(6 * 256), 5)).toEqual([]);
      const hidden = `Sure, 42.<!--${"A".repeat(1_000_000)}-->`;
      expect(check(hidden, 5)).toEqual([expect.objectContaining({ field: "completionTokens", claimed: 5n, limit: 3_906n })]);
    });
  });

  describe("an answer of this session sent back as history counts at the completion tokens billed for it", () => {
    const answer = "Sure, 42.<!--AAAAAAAAAAAAAAAAAAAA-->"; // 36 bytes, billed 5 completion tokens
    const billedAnswers = [{ textHash: keccak256(stringToBytes(answer)), completionTokens: 5 }];
    const history = (content: string) => ({
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content },
        { role: "user", content: "thanks" },
      ],
    });
    const check = (content: string, promptTokens: number) =>
      checkTokenCounts({
        request: history(content),
        responseText: "Ok.",
        usage: usage(promptTokens, 2, BigInt(promptTokens + 2)),
        previousCumulativeTokens: 0n,
        options,
        billedAnswers,
      });
    // "user" (4) + "Hi" (2) + "assistant" (9) + "user" (4) + "thanks" (6) = 25 bytes besides the answer, 3 messages × 3 + 2 overhead = 11.
    const rest = 25 + 11;

    it("its own answer: the completion tokens billed for it, one token more is refused", () => {
      expect(check(answer, rest + 5)).toEqual([]);
      expect(check(answer, rest + 6)).toEqual([expect.objectContaining({ field: "promptTokens", claimed: BigInt(rest + 6), limit: BigInt(rest + 5) })]);
    });

    it("any other assistant text (edited, from elsewhere) at its UTF-8 bytes", () => {
      const edited = `${answer} `;
      expect(check(edited, rest + 37)).toEqual([]);
      expect(check(edited, rest + 38)).toEqual([expect.objectContaining({ field: "promptTokens", limit: BigInt(rest + 37) })]);
    });

    it("an answer billed more tokens than its bytes (hidden reasoning) at its bytes, which bound any tokenizer", () => {
      const billedAnswers = [{ textHash: keccak256(stringToBytes("42")), completionTokens: 500 }];
      const violations = checkTokenCounts({
        request: history("42"),
        responseText: "Ok.",
        usage: usage(rest + 3, 2, BigInt(rest + 5)),
        previousCumulativeTokens: 0n,
        options,
        billedAnswers,
      });
      expect(violations).toEqual([expect.objectContaining({ field: "promptTokens", limit: BigInt(rest + 2) })]);
    });

    it("only as an assistant message: the same text sent as the user's is counted at its bytes", () => {
      const request = { messages: [{ role: "user", content: answer }] };
      const violations = checkTokenCounts({
        request,
        responseText: "Ok.",
        usage: usage(4 + 36 + 5, 2, 47n),
        previousCumulativeTokens: 0n,
        options,
        billedAnswers,
      });
      expect(violations).toEqual([]);
    });
  });
});
