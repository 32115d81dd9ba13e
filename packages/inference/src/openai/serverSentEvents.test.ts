import { describe, expect, it } from "vitest";
import { UpstreamBadResponseError } from "../errors.ts";
import { serverSentEventBatches } from "./serverSentEvents.ts";

async function* bodyOf(pieces: string[]) {
  for (const piece of pieces) yield new TextEncoder().encode(piece);
}

// The parsing itself is tested in @session-jobs/sse; here, what the relay adds: data only, one batch per chunk, its error.
describe("serverSentEventBatches", () => {
  it("yields the data of the events each chunk completes, one batch per chunk, and a last event without its blank line", async () => {
    const batches = [];
    for await (const batch of serverSentEventBatches(bodyOf(["event: x\ndata: a\n\ndata: b\n\n", ": ping\n", "data: c\ndata: d\n\ndata: [DONE]"])))
      batches.push(batch);
    expect(batches).toEqual([["a", "b"], ["c\nd"], ["[DONE]"]]);
  });

  it("refuses a line or event over maxLineLength with UpstreamBadResponseError, also an endless line", async () => {
    const drain = async (body: AsyncIterable<Uint8Array>, maxLineLength: number) => {
      for await (const _ of serverSentEventBatches(body, { maxLineLength }));
    };
    await expect(drain(bodyOf([`data: ${"x".repeat(200)}`]), 100)).rejects.toThrow(UpstreamBadResponseError);
    await expect(drain(bodyOf(Array.from({ length: 30 }, () => "data: 0123456789\n")), 100)).rejects.toThrow(/inference server.*longer than 100 characters/);
    async function* endless() {
      for (;;) yield new TextEncoder().encode("x".repeat(64));
    }
    await expect(drain(endless(), 10_000)).rejects.toThrow(UpstreamBadResponseError);
  });
});
