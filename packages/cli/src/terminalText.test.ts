import { describe, expect, it } from "vitest";
import { plainText } from "./terminalText.ts";

// eslint-disable-next-line no-control-regex -- what must never reach a terminal
const anyControl = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

describe("plainText", () => {
  it("keeps text, newlines and tabs", () => {
    expect(plainText("a\tb\nc — ü 🙂")).toBe("a\tb\nc — ü 🙂");
  });

  it.each([
    ["clear screen and scrollback, cursor home", "a\x1b[2J\x1b[3J\x1b[Hb", "ab"],
    ["cursor up, carriage return, erase line", "a\x1b[1A\r\x1b[Kb", "ab"],
    ["colours with parameters", "\x1b[38;2;255;0;0mred\x1b[0m", "red"],
    ["OSC 52 clipboard write ended by BEL", "a\x1b]52;c;ZWNobyBwd25lZA==\x07b", "ab"],
    ["OSC 8 hyperlink ended by ST", "\x1b]8;;https://evil\x1b\\link\x1b]8;;\x1b\\", "link"],
    ["DCS ended by ST", "a\x1bP1$r0m\x1b\\b", "ab"],
    ["two-character escapes (RIS reset, charset)", "a\x1bcb\x1b(0c", "abc"],
    ["8-bit CSI and other C1", "a\x9b2Jb\x85c\x90d", "a2Jbcd"],
    ["other C0 and DEL", "a\x00\x07\x08\x0b\x0c\x0e\x1f\x7fb", "ab"],
  ])("removes %s", (_name, input, expected) => {
    expect(plainText(input)).toBe(expected);
  });

  it("leaves no control character from a sequence cut anywhere, or never ended", () => {
    const sequences = ["\x1b[2J", "\x1b]52;c;QQ==\x07", "\x1bP1$r\x1b\\", "\x1b]8;;x\x1b\\"];
    for (const sequence of sequences)
      for (let cut = 0; cut <= sequence.length; cut++) {
        const parts = [`a${sequence.slice(0, cut)}`, `${sequence.slice(cut)}b`];
        expect(parts.map(plainText).join("")).not.toMatch(anyControl);
      }
    expect(plainText("a\x1b]52;c;QQ== never ended")).not.toMatch(anyControl);
    expect(plainText("a\x1b[99999999999")).not.toMatch(anyControl);
  });

  it("worst input: megabytes of unterminated sequence starts end in one linear pass", () => {
    for (const start of ["\x1b]", "\x1bP", "\x1b[", "\x1b[0", "\x1b", "\x9b"]) {
      const hostile = start.repeat(1_000_000);
      expect(plainText(hostile)).not.toMatch(anyControl);
    }
    const longCsi = `\x1b[${"0".repeat(4_000_000)}`;
    expect(plainText(longCsi)).toBe("0".repeat(4_000_000));
  });
});
