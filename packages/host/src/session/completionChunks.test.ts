import { describe, expect, it } from "vitest";
import { createCompletionChunks } from "./completionChunks.ts";

describe("createCompletionChunks", () => {
  it("encodes a content delta byte for byte as the whole object's JSON", () => {
    const texts = [
      "",
      "Hello",
      ' "quoted" ',
      "back\\slash",
      "line\nbreak\ttab\u0000nul",
      "héllo 🙂",
      "\ud800 lone surrogate \udfff",
      '""',
      "},{",
      "\u2028\u2029",
    ];
    for (const model of ['a "quoted" model\\name', 'ends in a quote "', '"content":""']) {
      const chunks = createCompletionChunks({ id: "chatcmpl-1", created: 1_700_000_000, model });
      for (const text of texts) {
        expect(chunks.content(text)).toBe(chunks.delta({ content: text }));
        expect(JSON.parse(chunks.content(text))).toEqual({
          id: "chatcmpl-1",
          object: "chat.completion.chunk",
          created: 1_700_000_000,
          model,
          choices: [{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }],
        });
      }
    }
  });
});
