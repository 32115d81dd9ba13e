import { describe, expect, it } from "vitest";
import { chatTemplateTokenTexts } from "../src/chatTemplate.ts";
import { TokenType, decode, encode, isTextToken, templateTokenIds, vocabSize, vocabulary } from "./vocab.ts";

describe("vocabulary", () => {
  it("has one token per printable ASCII character, 256 byte tokens and the template's control tokens", () => {
    expect(vocabulary.filter((e) => e.type === TokenType.normal)).toHaveLength(95);
    expect(vocabulary.filter((e) => e.type === TokenType.byte)).toHaveLength(256);
    for (const [key, text] of Object.entries(chatTemplateTokenTexts)) {
      const id = templateTokenIds[key as keyof typeof templateTokenIds];
      expect(vocabulary[id]).toEqual({ text, type: TokenType.control });
      expect(isTextToken(id)).toBe(false);
    }
    expect(new Set(vocabulary.map((e) => e.text)).size).toBe(vocabSize);
  });

  it("round-trips any text, one token per ASCII character, UTF-8 bytes for the rest", () => {
    for (const text of ["In the beginning God created the heaven and the earth.", "tab\there\nnewline", "naïve 日本 🙂", ""]) {
      expect(decode(encode(text))).toBe(text);
    }
    expect(encode("Amen.")).toHaveLength(5);
    expect(encode("ï")).toHaveLength(2);
    expect(encode("🙂")).toHaveLength(4);
  });

  it("tokenizes control-token text as characters, so content cannot forge a turn", () => {
    expect(encode("<|user|>")).toHaveLength(8);
    expect(encode("<|user|>").every(isTextToken)).toBe(true);
  });
});
