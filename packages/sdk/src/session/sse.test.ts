import { describe, expect, it } from "vitest";
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
