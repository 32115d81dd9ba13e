import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendJsonWithArray } from "./httpIo.ts";

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
    void sendJsonWithArray(response, { jobId: "7", note: 'quote " and \\ escaped' }, "exchanges", items, (item) => ({ ...item, encoded: true })).then(
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
