import { describe, expect, it } from "vitest";
import { UpstreamBadResponseError } from "../errors.ts";
import { serverSentEventBatches } from "./serverSentEvents.ts";

async function parse(pieces: string[], options?: { maxLineLength: number }): Promise<string[]> {
  const encoder = new TextEncoder();
  async function* body() {
    for (const piece of pieces) yield encoder.encode(piece);
  }
  const out: string[] = [];
  for await (const events of serverSentEventBatches(body(), options)) out.push(...events);
  return out;
}

describe("serverSentEventBatches", () => {
  it("splits events at blank lines and joins multi-line data", async () => {
    expect(await parse(["data: a\n\ndata: b\ndata: c\n\n"])).toEqual(["a", "b\nc"]);
  });

  it("accepts LF, CRLF and CR line ends, also split across chunks", async () => {
    expect(await parse(["data: a\r", "\n\r", "\ndata: b\r\rdata:c\n\n"])).toEqual(["a", "b", "c"]);
  });

  it("ignores comments, other fields and a missing space after the colon", async () => {
    expect(await parse([": keep-alive\n\nevent: message\nid: 3\nretry: 10\ndata:x\n\n"])).toEqual(["x"]);
  });

  it("decodes UTF-8 characters split across chunks", async () => {
    const bytes = new TextEncoder().encode("data: héllo 🙂\n\n");
    async function* body() {
      for (const byte of bytes) yield Uint8Array.of(byte);
    }
    const out: string[] = [];
    for await (const events of serverSentEventBatches(body())) out.push(...events);
    expect(out).toEqual(["héllo 🙂"]);
  });

  it("yields a last event that the stream ended without a blank line", async () => {
    expect(await parse(["data: a\n\ndata: [DONE]"])).toEqual(["a", "[DONE]"]);
  });

  it("joins an event split anywhere across chunks, byte by byte too", async () => {
    const stream = 'data: {"a":1}\n\ndata: {"b":2}\r\n\r\n: ping\n\ndata: x\ndata: y\n\n';
    const expected = ['{"a":1}', '{"b":2}', "x\ny"];
    expect(await parse([stream])).toEqual(expected);
    expect(await parse([...stream])).toEqual(expected);
    for (let cut = 1; cut < stream.length; cut++) expect(await parse([stream.slice(0, cut), stream.slice(cut)])).toEqual(expected);
  });

  it("refuses a line longer than the limit instead of buffering it without bound, however it is split", async () => {
    const giant = `data: ${"x".repeat(200)}`;
    await expect(parse([giant], { maxLineLength: 100 })).rejects.toThrow(UpstreamBadResponseError);
    await expect(parse(giant.match(/.{1,7}/g)!, { maxLineLength: 100 })).rejects.toThrow(/longer than 100 characters/);
    // An endless line (no line end ever) is refused as soon as it passes the limit.
    async function* endless() {
      for (;;) yield new TextEncoder().encode("x".repeat(64));
    }
    const reading = (async () => {
      for await (const _ of serverSentEventBatches(endless(), { maxLineLength: 10_000 })) return "event";
      return "end";
    })();
    await expect(reading).rejects.toThrow(UpstreamBadResponseError);
  });

  it("refuses an event whose data lines together pass the limit", async () => {
    await expect(
      parse(
        Array.from({ length: 30 }, () => "data: 0123456789\n"),
        { maxLineLength: 100 },
      ),
    ).rejects.toThrow(/longer than 100/);
    expect(await parse(["data: 0123456789\n".repeat(3), "\n"], { maxLineLength: 100 })).toEqual([Array(3).fill("0123456789").join("\n")]);
  });
});
