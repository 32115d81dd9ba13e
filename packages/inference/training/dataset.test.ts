import { describe, expect, it } from "vitest";
import type { Verse } from "./corpus.ts";
import { parseKjv } from "./corpus.ts";
import { conversationWindow, splitByChapter } from "./dataset.ts";
import { Rng } from "./rng.ts";
import { Tokenizer, trainPieces, vocabularyWithPieces } from "./tokenizer.ts";

const sample = `
Genesis 1

  1 In the beginning God created the heaven and the earth.
  2 And the earth was without form, and void; and darkness was upon the face of the deep.

1 Samuel 3

  9 Therefore Eli said unto Samuel, Go, lie down: and it shall be, if he call thee, that thou shalt say, Speak, LORD; for thy servant heareth.
`;

const tokenizer = new Tokenizer(
  vocabularyWithPieces(
    trainPieces(
      parseKjv(sample).map((v) => v.text),
      40,
    ),
  ),
);
const { decode, templateTokenIds } = tokenizer;

describe("KJV dataset", () => {
  it("parses the bible program's output into verses with references", () => {
    const verses = parseKjv(sample);
    expect(verses).toHaveLength(3);
    expect(verses[2]).toEqual({ book: "1 Samuel", chapter: 3, verse: 9, text: expect.stringMatching(/^Therefore Eli said/) });
  });

  it("builds windows in the chat template: BOS, user turns, assistant turns ending in the end marker", () => {
    const verses = parseKjv(sample);
    const window = conversationWindow(tokenizer, verses, 0, 200, new Rng(1));
    expect(window.inputs).toHaveLength(200);
    expect(window.targets).toEqual([...window.inputs.slice(1), window.targets.at(-1)]);
    expect(window.inputs[0]).toBe(templateTokenIds.beginning);
    expect(decode(window.inputs)).toContain("the heaven and the earth.");
    const userAt = window.inputs.indexOf(templateTokenIds.user);
    const assistantAt = window.inputs.indexOf(templateTokenIds.assistant);
    const endAt = window.inputs.indexOf(templateTokenIds.endOfTurn);
    expect(userAt).toBeGreaterThan(0);
    expect(assistantAt).toBeGreaterThan(userAt);
    expect(endAt).toBeGreaterThan(assistantAt);
    // The assistant's reply is marked as assistant text (predictions of its tokens), the end marker is not.
    expect(window.assistantText[assistantAt]).toBe(true);
    expect(window.assistantText[endAt - 1]).toBe(false);
  });

  it("holds out every 20th chapter", () => {
    const verses: Verse[] = Array.from({ length: 40 }, (_, i) => ({ book: "B", chapter: i + 1, verse: 1, text: "x" }));
    const { train, validation } = splitByChapter(verses);
    expect(validation.map((v) => v.chapter)).toEqual([20, 40]);
    expect(train).toHaveLength(38);
  });
});
