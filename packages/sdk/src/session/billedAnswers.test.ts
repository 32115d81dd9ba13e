import { keccak256, stringToBytes } from "viem";
import { describe, expect, it } from "vitest";
import { billedTokensOf, maxBilledAnswers, rememberAnswer } from "./billedAnswers.ts";
import type { BilledAnswer } from "./types.ts";

describe("the answers a session remembers for the prompt bound", () => {
  it(`keeps the newest ${maxBilledAnswers}, each a hash and a count, whatever the answers' size`, () => {
    let answers: BilledAnswer[] | undefined;
    for (let index = 0; index < maxBilledAnswers + 44; index++) answers = rememberAnswer(answers, `${index}`.repeat(1_000), index);
    expect(answers).toHaveLength(maxBilledAnswers);
    expect(billedTokensOf(answers, "0".repeat(1_000))).toBeUndefined();
    expect(billedTokensOf(answers, "43".repeat(1_000))).toBeUndefined();
    expect(billedTokensOf(answers, "44".repeat(1_000))).toBe(44);
    expect(billedTokensOf(answers, `${maxBilledAnswers + 43}`.repeat(1_000))).toBe(maxBilledAnswers + 43);
    // About 27 kB saved in all (a session's JSON holds them as they are).
    expect(JSON.stringify(answers).length).toBeLessThan(maxBilledAnswers * 110);
  });

  it("the same text billed again keeps one entry, the larger count, as the newest", () => {
    const answers = rememberAnswer(rememberAnswer(rememberAnswer(undefined, "Ok.", 7), "Sure.", 3), "Ok.", 2);
    expect(answers.map((answer) => answer.completionTokens)).toEqual([3, 7]);
    expect(billedTokensOf(answers, "Ok.")).toBe(7);
  });

  it("a session saved before answers were remembered has none: every answer counts at its bytes", () => {
    expect(billedTokensOf(undefined, "Ok.")).toBeUndefined();
    expect(billedTokensOf([], "Ok.")).toBeUndefined();
  });

  it("keeps each answer as viem's keccak256 of its UTF-8 bytes, so a session saved by an earlier version still matches", () => {
    const text = "Sure: 42 ✓ — déjà vu";
    expect(rememberAnswer(undefined, text, 9)).toEqual([{ textHash: keccak256(stringToBytes(text)), completionTokens: 9 }]);
    expect(billedTokensOf([{ textHash: keccak256(stringToBytes(text)), completionTokens: 9 }], text)).toBe(9);
  });
});
