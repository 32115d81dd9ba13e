import { describe, expect, it } from "vitest";
import { HostAnswerTooLargeError } from "../errors/session.ts";
import { parseServerSentEvents } from "./sse.ts";

function streamOf(pieces: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(encoder.encode(piece));
      controller.close();
    },
  });
}

async function collect(pieces: string[]) {
  const events = [];
  for await (const event of parseServerSentEvents(streamOf(pieces))) events.push(event);
  return events;
}

describe("parseServerSentEvents", () => {
  it("reassembles events split anywhere, with any line ending", async () => {
    const text = 'data: {"a":1}\r\n\r\n: comment\nevent: error\ndata: line one\ndata: line two\n\ndata:[DONE]\r\r';
    const expected = [
      { event: undefined, data: '{"a":1}' },
      { event: "error", data: "line one\nline two" },
      { event: undefined, data: "[DONE]" },
    ];
    expect(await collect([text])).toEqual(expected);
    expect(await collect(text.split(""))).toEqual(expected);
  });

  it("keeps multi-byte characters split across chunks", async () => {
    const bytes = new TextEncoder().encode("data: créé ✓\n\n");
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const byte of bytes) controller.enqueue(new Uint8Array([byte]));
        controller.close();
      },
    });
    const events = [];
    for await (const event of parseServerSentEvents(stream)) events.push(event.data);
    expect(events).toEqual(["créé ✓"]);
  });

  it("yields a last event that lacks its blank line", async () => {
    expect(await collect(["data: tail"])).toEqual([{ event: undefined, data: "tail" }]);
  });
});

describe("parseServerSentEvents against a hostile body", () => {
  /** An endless body of `piece`, counting the bytes the parser pulled. */
  function endless(piece: string) {
    const bytes = new TextEncoder().encode(piece.repeat(Math.ceil(65_536 / piece.length)));
    const pulled = { bytes: 0 };
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled.bytes += bytes.byteLength;
        controller.enqueue(bytes);
      },
    });
    return { stream, pulled };
  }

  it.each([
    ["bytes without any line end", "x"],
    ["`data:` lines that never end their event", "data: more\n"],
    ["a comment that never ends", ": keep-alive "],
  ])("stops at maxBytes on %s, with a typed error", async (_name, piece) => {
    const { stream, pulled } = endless(piece);
    const maxBytes = 4 * 1024 * 1024;
    const consume = async () => {
      for await (const _event of parseServerSentEvents(stream, { maxBytes }));
    };
    await expect(consume()).rejects.toBeInstanceOf(HostAnswerTooLargeError);
    expect(pulled.bytes).toBeLessThanOrEqual(maxBytes + 2 * 65_536);
  });
});
