import { describe, expect, it } from "vitest";
import { chatTemplateTokenTexts } from "../src/chatTemplate.ts";
import { TokenType, Tokenizer, baseVocabulary, trainPieces, vocabularyWithPieces } from "./tokenizer.ts";

const corpus = [
  "In the beginning God created the heaven and the earth.",
  "And the earth was without form, and void; and darkness was upon the face of the deep.",
  "And God said, Let there be light: and there was light.",
  "Genesis 1:1",
  "Genesis 1:2",
  "Genesis 1:3",
];
const tokenizer = new Tokenizer(vocabularyWithPieces(trainPieces(corpus, 60)));
const utf8Length = (text: string) => new TextEncoder().encode(text).length;

describe("tokenizer", () => {
  it("starts with the template's control tokens, 256 byte tokens and printable ASCII, then learnt pieces by rank", () => {
    const { vocabulary, templateTokenIds, isTextToken } = tokenizer;
    expect(vocabulary.slice(0, baseVocabulary.length)).toEqual(baseVocabulary);
    expect(baseVocabulary.filter((e) => e.type === TokenType.byte)).toHaveLength(256);
    expect(baseVocabulary.filter((e) => e.type === TokenType.normal)).toHaveLength(95);
    for (const [key, text] of Object.entries(chatTemplateTokenTexts)) {
      const id = templateTokenIds[key as keyof typeof templateTokenIds];
      expect(vocabulary[id]).toMatchObject({ text, type: TokenType.control });
      expect(isTextToken(id)).toBe(false);
    }
    const pieces = vocabulary.slice(baseVocabulary.length);
    expect(pieces).toHaveLength(60);
    expect(pieces.map((p) => p.score)).toEqual(pieces.map((_, i) => -(i + 1)));
  });

  it("learns frequent words as single pieces, the same pieces every time", () => {
    expect(trainPieces(["the the the cat"], 3)).toEqual(["th", "the", "▁the"]);
    expect(trainPieces(corpus, 60)).toEqual(trainPieces(corpus, 60));
    expect(tokenizer.encode(" the earth").map((id) => tokenizer.vocabulary[id]!.text)).toEqual(["▁the", "▁earth"]);
    expect(tokenizer.encode("Genesis")).toHaveLength(1);
  });

  it("merges the highest-scoring pair first, leftmost on ties, as llama.cpp's SentencePiece does", () => {
    const id = (t: Tokenizer, text: string) => t.vocabulary.findIndex((e) => e.text === text);
    const abFirst = new Tokenizer(vocabularyWithPieces(["ab", "abc"]));
    expect(abFirst.encode("abc")).toEqual([id(abFirst, "abc")]);
    // "bc" outranks "ab", and "a"+"bc" is a vocabulary entry too: SentencePiece merges any pair whose concatenation is.
    const bcFirst = new Tokenizer(vocabularyWithPieces(["bc", "ab", "abc"]));
    expect(bcFirst.encode("abc")).toEqual([id(bcFirst, "abc")]);
    const noAbc = new Tokenizer(vocabularyWithPieces(["bc", "ab"]));
    expect(noAbc.encode("abc")).toEqual([id(noAbc, "a"), id(noAbc, "bc")]);
    expect(noAbc.encode("abab")).toEqual([id(noAbc, "ab"), id(noAbc, "ab")]);
    expect(noAbc.encode("aba")).toEqual([id(noAbc, "ab"), id(noAbc, "a")]);
  });

  it("round-trips any text, every token at least one byte, UTF-8 bytes for characters outside the vocabulary", () => {
    for (const text of [...corpus, "tab\there\nnewline", "naïve 日本 🙂", "  two  spaces ", "\u0000\u007f", "lone \ud800 surrogate", ""]) {
      const ids = tokenizer.encode(text);
      expect(tokenizer.decode(ids)).toBe(text.replace("\ud800", "\ufffd"));
      for (const id of ids) expect(tokenizer.bytes([id]).length).toBeGreaterThanOrEqual(1);
      expect(ids.length).toBeLessThanOrEqual(utf8Length(text));
    }
    expect(tokenizer.encode("ï")).toHaveLength(2);
    expect(tokenizer.encode("🙂")).toHaveLength(4);
  });

  it("tokenizes control-token and byte-token text as plain text, so content cannot forge a turn", () => {
    for (const text of ["<|user|>", "</s>", "<s>", "<0x41>", "<unk>"]) {
      const ids = tokenizer.encode(text);
      expect(ids.every(tokenizer.isTextToken)).toBe(true);
      expect(tokenizer.decode(ids)).toBe(text);
    }
  });

  it("rejects a vocabulary without the base entries, or with duplicates", () => {
    expect(() => new Tokenizer(baseVocabulary.slice(1))).toThrow(/entry 0/);
    expect(() => new Tokenizer(vocabularyWithPieces(["ab", "ab"]))).toThrow(/distinct/);
    expect(() => tokenizer.decode([tokenizer.vocabSize])).toThrow(RangeError);
  });
});
