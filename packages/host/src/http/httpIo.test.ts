import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendJsonWithArray, startSse, watchClient } from "./httpIo.ts";

let server: Server;
let url: string;
let ticksDuringAnswer = 0;
const items = Array.from({ length: 200 }, (_, index) => ({ index, text: "y".repeat(20_000) }));

beforeAll(async () => {
  server = createServer((_request, response) => {
    // A bystander that needs the event loop: it counts the turns it gets while the answer is written.
    let writing = true;
    const bystander = () => {
      if (!writing) return;
      ticksDuringAnswer += 1;
      setImmediate(bystander);
    };
    setImmediate(bystander);
    void sendJsonWithArray(response, { jobId: "7", note: 'quote " and \\ escaped' }, "exchanges", items, (item) => ({ ...item, encoded: true }), 60_000).then(
      () => (writing = false),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe("sendJsonWithArray", () => {
  it("writes valid JSON one element at a time and lets other work run between elements", async () => {
    const answer = (await (await fetch(url)).json()) as { jobId: string; note: string; exchanges: { index: number; encoded: boolean }[] };
    expect(answer.jobId).toBe("7");
    expect(answer.note).toBe('quote " and \\ escaped');
    expect(answer.exchanges.map((exchange) => exchange.index)).toEqual(items.map((item) => item.index));
    expect(answer.exchanges.every((exchange) => exchange.encoded)).toBe(true);
    // Counted in event-loop turns, not time: a one-shot JSON.stringify of the whole answer gives the bystander none.
    expect(ticksDuringAnswer).toBeGreaterThanOrEqual(items.length / 2);
  });
});

describe("startSse", () => {
  it("sends the head with the first event, in one socket write", async () => {
    /** What each write the socket hands to the kernel carries (`_write`: one chunk, `_writev`: corked chunks). */
    const flushes: string[] = [];
    const sse = createServer((_request, response) => {
      const socket = response.socket as unknown as Record<"_write" | "_writev", (...args: unknown[]) => void>;
      const [write, writev] = [socket._write.bind(socket), socket._writev.bind(socket)];
      socket._write = (chunk, ...rest) => (flushes.push(String(chunk)), write(chunk, ...rest));
      socket._writev = (chunks, ...rest) => (
        flushes.push((chunks as { chunk: unknown }[]).map(({ chunk }) => String(chunk)).join("")),
        writev(chunks, ...rest)
      );
      const writer = startSse(response, watchClient(response));
      writer.send("first");
      writer.close();
    });
    await new Promise<void>((resolve) => sse.listen(0, "127.0.0.1", resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(sse.address() as AddressInfo).port}`);
      expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      expect(await response.text()).toBe("data: first\n\n");
      expect(flushes[0]).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n[0-9a-f]+\r\ndata: first\n\n\r\n/);
    } finally {
      await new Promise((resolve) => sse.close(resolve));
    }
  });
});
