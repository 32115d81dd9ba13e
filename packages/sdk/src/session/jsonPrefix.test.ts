import { describe, expect, it } from "vitest";
import { isJsonPrefix } from "./jsonPrefix.ts";

const whole = JSON.stringify({
  id: "chatcmpl-1",
  choices: [{ message: { role: "assistant", content: 'a "quoted" \\ \u00e9 \ud83d\ude42 \n' } }],
  n: -1.5e3,
  ok: true,
  no: null,
});

describe("isJsonPrefix", () => {
  it("takes every cut of a JSON text, and the whole", () => {
    for (let end = 0; end <= whole.length; end++) expect(isJsonPrefix(whole.slice(0, end)), whole.slice(0, end)).toBe(true);
    expect(isJsonPrefix(' [ 1 , {"a" : [] } ')).toBe(true);
  });

  it.each([
    "<html>Bad gateway</html>",
    "Bad gateway",
    '{"a":1}x',
    '{"a" 1',
    "{,",
    "[1,]x",
    '{"a":tru e',
    '{"a":"\\q"}',
    '{"a":"\\u12G4"}',
    '{"a":"line\nbreak"}',
    "]",
    '{"a":1]',
    "[1}",
    "nul1",
  ])("refuses what no JSON text starts with: %j", (text) => {
    expect(isJsonPrefix(text)).toBe(false);
  });
});
