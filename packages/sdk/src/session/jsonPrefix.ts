/**
 * Whether `text` could be the start of a JSON text: every character so far is where JSON allows
 * one, only its end missing. Tells an answer cut short (which `fetch` decodes and hands on without
 * error) from one that is whole but not JSON. Hand-written because JSON.parse's message and
 * position for an early end differ by engine, and no library answers "is this a prefix". Numbers
 * are read loosely (their characters, not their grammar): a cut never lands mid-number in a way
 * that matters here.
 */
export function isJsonPrefix(text: string): boolean {
  /** Open containers, innermost last. */
  const open: ("{" | "[")[] = [];
  /** What may come next: a value, an object's key (or its end right after `{`), a colon, or `,` / a closer after a value. */
  let expect: "value" | "firstValue" | "key" | "firstKey" | "colon" | "next" = "value";
  /** Inside a string (a key or a value), an escape, a number, or a literal, with what it still needs. */
  let token: { kind: "string"; key: boolean; escape: number } | { kind: "number" } | { kind: "literal"; rest: string } | undefined;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (token?.kind === "string") {
      if (token.escape > 0) {
        // After `\`: one of its letters (`u` asks for 4 hex digits); within `\uXXXX`: a hex digit.
        if (token.escape === 5) {
          if (char === "u") token.escape = 4;
          else if ('"\\/bfnrt'.includes(char)) token.escape = 0;
          else return false;
        } else if (/[0-9a-fA-F]/.test(char)) token.escape -= 1;
        else return false;
      } else if (char === "\\") token.escape = 5;
      else if (char === '"') {
        expect = token.key ? "colon" : "next";
        token = undefined;
      } else if (char < " ") return false;
      continue;
    }
    if (token?.kind === "literal") {
      if (char !== token.rest[0]) return false;
      token.rest = token.rest.slice(1);
      if (token.rest === "") {
        token = undefined;
        expect = "next";
      }
      continue;
    }
    if (token?.kind === "number") {
      if (/[0-9+\-.eE]/.test(char)) continue;
      token = undefined;
      expect = "next";
    }
    if (" \t\n\r".includes(char)) continue;
    if (expect === "value" || expect === "firstValue") {
      if (expect === "firstValue" && char === "]") {
        open.pop();
        expect = "next";
      } else if (char === "{") {
        open.push("{");
        expect = "firstKey";
      } else if (char === "[") {
        open.push("[");
        expect = "firstValue";
      } else if (char === '"') token = { kind: "string", key: false, escape: 0 };
      else if (/[-0-9]/.test(char)) token = { kind: "number" };
      else if (char === "t" || char === "f" || char === "n") token = { kind: "literal", rest: { t: "rue", f: "alse", n: "ull" }[char] };
      else return false;
    } else if (expect === "key" || expect === "firstKey") {
      if (expect === "firstKey" && char === "}") {
        open.pop();
        expect = "next";
      } else if (char === '"') token = { kind: "string", key: true, escape: 0 };
      else return false;
    } else if (expect === "colon") {
      if (char !== ":") return false;
      expect = "value";
    } else {
      const inner = open.at(-1);
      if (char === "," && inner) expect = inner === "{" ? "key" : "value";
      else if ((char === "}" && inner === "{") || (char === "]" && inner === "[")) open.pop();
      else return false;
    }
  }
  return true;
}
