import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { fixture } from "../../test/fixtureServer.ts";
import { pumpEvents, type PumpEventsParameters } from "./eventPump.ts";
import { createUpstreamEventParser } from "./serverSentEvents.ts";

/** A body fed by hand, parsed like an upstream's, with a log of what the pump did in which order. */
function pumpOf(body: PassThrough, take: PumpEventsParameters["take"] = () => true, ready: PumpEventsParameters["ready"] = async () => true) {
  const parser = createUpstreamEventParser();
  const log: string[] = [];
  const outcome = pumpEvents({
    body,
    events: (chunk) => {
      log.push("read");
      return parser.push(chunk as Uint8Array).map((event) => event.data);
    },
    rest: () => {
      log.push("end");
      return parser.end().map((event) => event.data);
    },
    take: (data) => {
      log.push(data);
      return take(data);
    },
    ready,
  });
  return { outcome, log };
}

/** A pump whose consumer is full from the first event on, until `empty()`. */
function fullPump() {
  const body = new PassThrough();
  let release!: (goOn: boolean) => void;
  let full = true;
  const pump = pumpOf(
    body,
    () => !full,
    () => new Promise((resolve) => (release = resolve)),
  );
  const empty = () => {
    full = false;
    release(true);
  };
  return { body, ...pump, empty };
}

/** Lets the event loop run `turns` times (no timers): what can happen without new input has happened. */
async function settle(turns = 20): Promise<void> {
  for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe("pumpEvents", () => {
  it("takes every event one read completes, in order, before the next read", async () => {
    const body = new PassThrough();
    const { outcome, log } = pumpOf(body);
    body.write("data: a\n\ndata: b\n\ndata: c\n\n");
    await settle();
    body.end("data: d\n\n");
    expect(await outcome).toBe("end");
    expect(log).toEqual(["read", "a", "b", "c", "read", "d", "end"]);
  });

  it("gives the same events however the body is split, at every byte boundary (CRLF, a character of four bytes, an event without its blank line)", async () => {
    const text = 'data: {"x":"é🙂"}\r\n\r\n: ping\r\ndata: one\r\ndata: two\r\n\r\ndata: last';
    const bytes = Buffer.from(text, "utf8");
    const expected = ['{"x":"é🙂"}', "one\ntwo", "last"];
    for (let at = 1; at < bytes.length; at++) {
      const body = new PassThrough();
      const taken: string[] = [];
      const { outcome } = pumpOf(body, (data) => taken.push(data) > 0);
      body.write(bytes.subarray(0, at));
      body.end(bytes.subarray(at));
      expect(await outcome).toBe("end");
      expect(taken, `split at byte ${at}`).toEqual(expected);
    }
  });

  it("pauses the body while the consumer is full, keeps the rest of that read, and bounds what it buffers", async () => {
    const { body, outcome, log, empty } = fullPump();
    body.write("data: 0\n\ndata: 1\n\n");
    await settle();
    // An upstream that writes without end: once the pump stopped reading, its writes report a full buffer.
    let accepted = 0;
    while (body.write(`data: ${accepted + 2}\n\n`)) accepted += 1;
    await settle();
    expect(log).toEqual(["read", "0"]);
    expect(body.isPaused()).toBe(true);
    expect(body.writableLength + body.readableLength).toBeLessThanOrEqual(2 * body.writableHighWaterMark + 64);
    empty();
    body.end();
    expect(await outcome).toBe("end");
    expect(log.filter((entry) => entry !== "read" && entry !== "end")).toEqual(Array.from({ length: accepted + 3 }, (_, index) => String(index)));
  });

  it("takes what is left of a read, then what the end completes, when the body ends while paused", async () => {
    const { body, outcome, log, empty } = fullPump();
    body.end("data: a\n\ndata: b\n\ndata: c");
    await settle();
    expect(log).toEqual(["read", "a"]);
    expect(body.readableEnded).toBe(true);
    empty();
    expect(await outcome).toBe("end");
    expect(log).toEqual(["read", "a", "b", "end", "c"]);
  });

  it("stops and destroys the body when the consumer says so after a pause", async () => {
    const body = new PassThrough();
    const { outcome, log } = pumpOf(
      body,
      () => false,
      async () => false,
    );
    body.write("data: a\n\ndata: b\n\n");
    expect(await outcome).toBe("stopped");
    expect(log).toEqual(["read", "a"]);
    expect(body.destroyed).toBe(true);
  });

  it('ends at "done" without taking what follows, and destroys an unfinished body', async () => {
    const body = new PassThrough();
    const { outcome, log } = pumpOf(body, (data) => (data === "[DONE]" ? "done" : true));
    body.write("data: a\n\ndata: [DONE]\n\ndata: b\n\n");
    expect(await outcome).toBe("done");
    expect(log).toEqual(["read", "a", "[DONE]"]);
    expect(body.destroyed).toBe(true);
  });

  it("fails with what take throws (a malformed event mid-stream) and takes nothing after it", async () => {
    const body = new PassThrough();
    const { outcome, log } = pumpOf(body, (data) => {
      if (data.startsWith("{")) JSON.parse(data);
      return true;
    });
    body.write("data: a\n\ndata: {not json\n\ndata: b\n\n");
    await expect(outcome).rejects.toThrow(SyntaxError);
    expect(log).toEqual(["read", "a", "{not json"]);
    expect(body.destroyed).toBe(true);
  });

  it("fails when the body errors or closes before its end", async () => {
    const failing = new PassThrough();
    const failed = pumpOf(failing).outcome;
    failing.destroy(new Error("connection reset"));
    await expect(failed).rejects.toThrow("connection reset");
    const closing = new PassThrough();
    const closed = pumpOf(closing).outcome;
    closing.write("data: a\n\n");
    await settle();
    closing.destroy();
    await expect(closed).rejects.toThrow(/closed before its end/);
  });

  it("reads a whole recorded upstream answer", async () => {
    const body = new PassThrough();
    const taken: string[] = [];
    const { outcome } = pumpOf(body, (data) => taken.push(data) > 0);
    body.end(fixture("vllm.sse"));
    expect(await outcome).toBe("end");
    expect(taken.at(-1)).toBe("[DONE]");
  });
});
