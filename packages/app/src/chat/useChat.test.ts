import { describe, expect, it } from "vitest";
import { historyOf } from "./useChat.ts";

describe("historyOf", () => {
  it("sends stopped answers as far as they got and leaves out failed ones", () => {
    expect(
      historyOf([
        { role: "user", content: "a" },
        { role: "assistant", content: "partial", stopped: true },
        { role: "user", content: "b" },
        { role: "assistant", content: "", failed: "The host does not answer." },
      ]),
    ).toEqual([
      { role: "user", content: "a" },
      { role: "assistant", content: "partial" },
      { role: "user", content: "b" },
    ]);
  });
});
