import { describe, expect, it } from "vitest";
import { estimatePromptTokens, uncountedPromptTokens } from "./chatRequest.ts";

describe("a prompt the host could not count", () => {
  const request = {
    messages: [
      { role: "user" as const, content: "Hi" },
      { role: "assistant" as const, content: "Sure, 42.<!-- hidden -->" },
      { role: "user" as const, content: "thanks" },
    ],
  };

  it("is reserved at its UTF-8 bytes plus the overhead per message", () => {
    expect(estimatePromptTokens(request, 8)).toBe(2 + 24 + 6 + 3 * 8);
  });

  it("is billed with assistant messages at their overhead alone, which every client's count check accepts (its own answers count at the tokens billed for them)", () => {
    expect(uncountedPromptTokens(request, 8)).toBe(2 + 6 + 3 * 8);
  });
});
