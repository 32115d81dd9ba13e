import { describe, expect, it, vi } from "vitest";
import { createServerSentEventParser, ServerSentEventTooLongError, type ServerSentEvent, type ServerSentEventParserOptions } from "./index.ts";

const encoder = new TextEncoder();

function parseChunks(chunks: Uint8Array[], options?: ServerSentEventParserOptions): ServerSentEvent[] {
  const parser = createServerSentEventParser(options);
  return [...chunks.flatMap((chunk) => parser.push(chunk)), ...parser.end()];
}

const parse = (pieces: string[], options?: ServerSentEventParserOptions) =>
  parseChunks(
    pieces.map((piece) => encoder.encode(piece)),
    options,
  );
const dataOf = (pieces: string[], options?: ServerSentEventParserOptions) => parse(pieces, options).map((event) => event.data);

describe("createServerSentEventParser", () => {
  it("splits events at blank lines and joins multi-line data", () => {
    expect(dataOf(["data: a\n\ndata: b\ndata: c\n\n"])).toEqual(["a", "b\nc"]);
  });

  it("accepts LF, CRLF and CR line ends, also split across chunks", () => {
    expect(dataOf(["data: a\r", "\n\r", "\ndata: b\r\rdata:c\n\n"])).toEqual(["a", "b", "c"]);
  });

  it("keeps a CRLF whole when an empty chunk comes between its CR and its LF", () => {
    expect(dataOf(["data: a\r", "", "\ndata: b\n\n"])).toEqual(["a\nb"]);
  });

  it("reports the event field, reset after each event, and ignores comments, other fields and a missing space", () => {
    expect(parse([": keep-alive\n\nevent: error\nid: 3\nretry: 10\ndata:x\n\ndata: y\n\nevent: lost\n\ndata: z\n\n"])).toEqual([
      { event: "error", data: "x" },
      { event: undefined, data: "y" },
      { event: undefined, data: "z" },
    ]);
  });

  it("decodes UTF-8 characters split across chunks", () => {
    const bytes = encoder.encode("data: héllo 🙂 créé ✓\n\n");
    expect(parseChunks([...bytes].map((byte) => Uint8Array.of(byte)))).toEqual([{ event: undefined, data: "héllo 🙂 créé ✓" }]);
  });

  it("decodes like one streaming decoder at every split: invalid and cut-off bytes, a leading BOM dropped, later ones kept", () => {
    const bytes = Uint8Array.from([
      ...[0xef, 0xbb, 0xbf],
      ...encoder.encode("data: a"),
      ...[0xc3, 0x41, 0xe0, 0x80, 0x42, 0xf0, 0x9f, 0x99, 0x82, 0xff, 0xef, 0xbb, 0xbf, 0xe2, 0x9c],
      ...encoder.encode("\n\ndata: b"),
      ...[0xf0, 0x9f],
    ]);
    const expected = parseChunks([bytes]);
    expect(expected).toEqual([
      { event: undefined, data: "a\ufffdA\ufffd\ufffdB🙂\ufffd\ufeff\ufffd" },
      { event: undefined, data: "b\ufffd" },
    ]);
    for (let cut = 1; cut < bytes.length; cut++) expect(parseChunks([bytes.subarray(0, cut), bytes.subarray(cut)]), `cut at ${cut}`).toEqual(expected);
    expect(parseChunks([...bytes].map((byte) => Uint8Array.of(byte)))).toEqual(expected);
  });

  it("yields a last event that the stream ended without a blank line", () => {
    expect(dataOf(["data: a\n\ndata: [DONE]"])).toEqual(["a", "[DONE]"]);
    expect(dataOf(["data: tail\r"])).toEqual(["tail"]);
  });

  it("joins an event split at any byte offset, and byte by byte", () => {
    const stream = 'data: {"a":1}\n\ndata: {"b":2}\r\n\r\n: ping\n\nevent: error\ndata: x\ndata: y\n\ndata: é\r\r';
    const expected = [
      { event: undefined, data: '{"a":1}' },
      { event: undefined, data: '{"b":2}' },
      { event: "error", data: "x\ny" },
      { event: undefined, data: "é" },
    ];
    const bytes = encoder.encode(stream);
    expect(parseChunks([bytes])).toEqual(expected);
    expect(parseChunks([...bytes].map((byte) => Uint8Array.of(byte)))).toEqual(expected);
    for (let cut = 1; cut < bytes.length; cut++) expect(parseChunks([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(expected);
  });

  it("refuses a line longer than the limit instead of buffering it without bound, however it is split", () => {
    const giant = `data: ${"x".repeat(200)}`;
    expect(() => parse([giant], { maxLineLength: 100 })).toThrow(ServerSentEventTooLongError);
    expect(() => parse(giant.match(/.{1,7}/g)!, { maxLineLength: 100 })).toThrow(/longer than 100 characters/);
    // An endless line (no line end ever) is refused as soon as it passes the limit.
    const parser = createServerSentEventParser({ maxLineLength: 10_000 });
    const piece = encoder.encode("x".repeat(64));
    let pushed = 0;
    expect(() => {
      for (;;) {
        parser.push(piece);
        pushed += piece.length;
      }
    }).toThrow(ServerSentEventTooLongError);
    expect(pushed).toBeLessThanOrEqual(10_000);
  });

  it("refuses an event whose data lines together pass the limit, with the caller's error", () => {
    class Mine extends Error {}
    expect(() =>
      parse(
        Array.from({ length: 30 }, () => "data: 0123456789\n"),
        { maxLineLength: 100, onTooLong: (limit) => new Mine(`over ${limit}`) },
      ),
    ).toThrow(new Mine("over 100"));
    expect(dataOf(["data: 0123456789\n".repeat(3), "\n"], { maxLineLength: 100 })).toEqual([Array(3).fill("0123456789").join("\n")]);
  });

  it("searches each character for line ends once, however a line is split and however many lines a chunk holds", () => {
    const long = `data: ${"y".repeat(64 * 1024)}\n\n`;
    const many = "data: z\n\n".repeat(8 * 1024);
    for (const [text, pieces] of [
      [long, long.match(/[\s\S]{1,7}/g)!],
      [many, [many]],
    ] as const) {
      const indexOf = String.prototype.indexOf;
      let scanned = 0;
      const spy = vi.spyOn(String.prototype, "indexOf").mockImplementation(function (this: string, search: string, from = 0) {
        const found = indexOf.call(this, search, from);
        if (search === "\n" || search === "\r") scanned += (found === -1 ? this.length : found + 1) - from;
        return found;
      });
      let events;
      try {
        events = parse([...pieces]);
      } finally {
        spy.mockRestore();
      }
      expect(events.length).toBeGreaterThan(0);
      // Two searches (LF and CR) over each character, and a little for chunk ends.
      expect(scanned).toBeLessThanOrEqual(2 * text.length + 4 * pieces.length);
    }
  });

  it("holds a line without end in linear time: 16 MiB costs about four times 4 MiB, measured side by side", () => {
    // Joining each chunk onto the unfinished line copied it whole on every chunk: quadratic, 16x here.
    const chunk = encoder.encode("x".repeat(64 * 1024));
    const feed = (mebibytes: number) => {
      const parser = createServerSentEventParser({ maxLineLength: 64 * 1024 * 1024 });
      const started = performance.now();
      for (let pushed = 0; pushed < mebibytes * 16; pushed++) parser.push(chunk);
      expect(parser.end()).toEqual([]);
      return performance.now() - started;
    };
    let ratio = Infinity;
    for (let round = 0; round < 3; round++) ratio = Math.min(ratio, feed(16) / Math.max(feed(4), 0.05));
    console.log(`a line without end: 16 MiB / 4 MiB = ${ratio.toFixed(1)}x`);
    expect(ratio).toBeLessThan(8);
  });
});
