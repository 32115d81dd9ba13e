import { createServer, get, type IncomingMessage, type Server } from "node:http";
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

describe("sendJsonWithArray's stall bound", () => {
  /**
   * Answers one request with `element` under a 1 s stall bound, read by `read`; resolves the
   * writer's result and the body read once the writer is done and the client has seen the end.
   */
  async function answer(element: string, read: (response: IncomingMessage, chunks: Buffer[]) => void) {
    let written!: (result: boolean) => void;
    const result = new Promise<boolean>((resolve) => (written = resolve));
    const slow = createServer(
      (_request, response) => void sendJsonWithArray(response, { jobId: "7" }, "exchanges", [element], (item) => item, 1_000).then(written),
    );
    await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
    try {
      const chunks: Buffer[] = [];
      const request = get(`http://127.0.0.1:${(slow.address() as AddressInfo).port}/`, (response) => read(response, chunks));
      request.on("error", () => undefined);
      const outcome = await result;
      if (outcome) await new Promise((resolve) => request.once("close", resolve));
      request.destroy();
      return { result: outcome, received: Buffer.concat(chunks) };
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  }

  it("never cuts a slow reader that goes on taking bytes, however long one element takes it (8 MB at most ~3 MB/s, bound 1 s), and splits no character", async () => {
    // Two- and three-byte characters, so that 64 KiB slices fall inside them.
    const element = "é€x".repeat(1_400_000);
    const { result, received } = await answer(element, (response, chunks) => {
      let sincePause = 0;
      response.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        sincePause += chunk.length;
        if (sincePause < 64 * 1024) return;
        // 20 ms after each 64 KiB it takes: the element takes it over 2.5 s, each slice far inside the bound.
        sincePause = 0;
        response.pause();
        setTimeout(() => response.resume(), 20);
      });
    });
    expect(result).toBe(true);
    expect((JSON.parse(received.toString("utf8")) as { exchanges: string[] }).exchanges).toEqual([element]);
  }, 60_000);

  it("cuts a reader that stops taking bytes", async () => {
    const { result, received } = await answer("x".repeat(8_000_000), (response, chunks) =>
      response.once("data", (chunk: Buffer) => (chunks.push(chunk), response.pause())),
    );
    expect(result).toBe(false);
    expect(received.length).toBeLessThan(8_000_000);
  }, 60_000);
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
