import { describe, expect, it } from "vitest";
import { serverSentEventData } from "./serverSentEvents.ts";

async function parse(pieces: string[]): Promise<string[]> {
  const encoder = new TextEncoder();
  async function* body() {
    for (const piece of pieces) yield encoder.encode(piece);
  }
  const out: string[] = [];
  for await (const data of serverSentEventData(body())) out.push(data);
  return out;
}

describe("serverSentEventData", () => {
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
    for await (const data of serverSentEventData(body())) out.push(data);
    expect(out).toEqual(["héllo 🙂"]);
  });

  it("yields a last event that the stream ended without a blank line", async () => {
    expect(await parse(["data: a\n\ndata: [DONE]"])).toEqual(["a", "[DONE]"]);
  });
});
