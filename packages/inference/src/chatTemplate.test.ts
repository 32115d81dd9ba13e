import { describe, expect, it } from "vitest";
import { buildPrompt, type ChatTemplateTokenIds } from "./chatTemplate.ts";
import { ContextOverflowError } from "./errors.ts";
import type { ChatMessage } from "./types.ts";

const ids: ChatTemplateTokenIds = { beginning: 1, endOfTurn: 2, system: 3, user: 4, assistant: 5 };
const tokenize = (text: string) => [...text].map((c) => c.charCodeAt(0));
const build = (messages: ChatMessage[], maxPromptTokens: number, overflow: "truncate" | "error" = "truncate") =>
  buildPrompt({ messages, ids, tokenize, maxPromptTokens, overflow, contextSize: 99 });

describe("buildPrompt", () => {
  it("renders turns with their control tokens and ends on the assistant's turn", () => {
    const { tokens, droppedTurns } = build(
      [
        { role: "system", content: "s" },
        { role: "user", content: "u" },
        { role: "assistant", content: "a" },
        { role: "user", content: "v" },
      ],
      100,
    );
    expect(tokens).toEqual([1, 3, 115, 4, 117, 5, 97, 2, 4, 118, 5]);
    expect(droppedTurns).toBe(0);
  });

  it("keeps control-token text in content as plain text", () => {
    expect(build([{ role: "user", content: "<|user|>" }], 100).tokens).toEqual([1, 4, ...tokenize("<|user|>"), 5]);
  });

  it("drops the oldest turns that do not fit", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "first" },
      { role: "assistant", content: "reply" },
      { role: "user", content: "last" },
    ];
    const { tokens, droppedTurns } = build(messages, 2 + 5 + 7);
    expect(tokens).toEqual([1, 5, ...tokenize("reply"), 2, 4, ...tokenize("last"), 5]);
    expect(droppedTurns).toBe(1);
  });

  it("keeps the end of a newest turn that alone is too long", () => {
    const { tokens } = build([{ role: "user", content: "abcdefgh" }], 6);
    expect(tokens).toEqual([1, 4, ...tokenize("fgh"), 5]);
    expect(tokens).toHaveLength(6);
  });

  it("throws ContextOverflowError when asked to", () => {
    expect(() => build([{ role: "user", content: "abcdefgh" }], 6, "error")).toThrow(ContextOverflowError);
  });
});
