import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, startFixtureServer } from "../../test/fixtureServer.ts";
import { pushStream, type DeltaSink } from "../pushStream.ts";
import type { ChatRequest } from "../types.ts";
import { createOpenAICompatibleBackend } from "./createOpenAICompatibleBackend.ts";

// The host's relay path: the upstream's deltas pushed into a sink from its socket's reads.
const hello: ChatRequest = { messages: [{ role: "user", content: "Say hello" }], maxTokens: 500 };
const event = (content: string) =>
  `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
const ending = `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 3, completion_tokens: 200 } })}\n\ndata: [DONE]\n\n`;
const words = Array.from({ length: 200 }, (_, index) => ` w${index}`);
const closed: string[] = [];

let server: Awaited<ReturnType<typeof startFixtureServer>>;
beforeAll(async () => {
  server = await startFixtureServer({
    // The whole answer in one write: on loopback, one read of the host's socket.
    "one-write": (_, res) => void res.writeHead(200, { "content-type": "text/event-stream" }).end(words.map(event).join("") + ending),
    stalls: (_, res) => {
      res.once("close", () => closed.push("stalls"));
      res.writeHead(200, { "content-type": "text/event-stream" }).write(event("Hello") + event(" there"));
    },
    "malformed-mid-stream": (_, res) => {
      res.once("close", () => closed.push("malformed-mid-stream"));
      res.writeHead(200, { "content-type": "text/event-stream" });
      // Left open after the bad event: the relay must not wait for more.
      res.write(event("Hello") + event(" there") + "data: {not json\n\n" + event(" never"));
    },
  });
});
afterAll(() => server.close());

const backend = (route: string) => createOpenAICompatibleBackend({ baseUrl: server.baseUrl(route), model: "m", timeoutMs: 60_000 });

/** Records each delta with the synchronous run it arrived in (a run ends at the next microtask). */
function recordingSink(overrides: Partial<DeltaSink> = {}) {
  const runs: string[][] = [];
  let run: string[] | undefined;
  const sink: DeltaSink = {
    delta(text) {
      if (!run) {
        const current: string[] = [];
        runs.push((run = current));
        queueMicrotask(() => (run = undefined));
      }
      run.push(text);
      return overrides.delta?.(text) ?? true;
    },
    ready: overrides.ready ?? (async () => true),
  };
  return { sink, runs, deltas: () => runs.flat() };
}

describe("pushStream over an OpenAI-compatible upstream", () => {
  it("hands over the deltas of one upstream read in one synchronous run, with no promise per token", async () => {
    const { sink, runs, deltas } = recordingSink();
    const end = await pushStream(backend("one-write"), hello, sink);
    expect(end).toEqual({ type: "finish", finishReason: "stop", usage: { promptTokens: 3, completionTokens: 200 } });
    expect(deltas()).toEqual(words);
    // A 10 KB answer written at once arrives in very few reads (one, on an idle loopback).
    expect(runs.length).toBeLessThanOrEqual(4);
  });

  it("reads nothing more while the sink is full, then goes on where it stopped", async () => {
    let release!: (goOn: boolean) => void;
    const { sink, deltas } = recordingSink({ delta: () => deltas().length >= 5, ready: () => new Promise((resolve) => (release = resolve)) });
    const ending = pushStream(backend("one-write"), hello, sink);
    await expect.poll(() => deltas().length).toBe(1);
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(deltas()).toEqual(words.slice(0, 1));
    // Full again after each of the next deltas until the fifth: one delta per release, then the rest at once.
    for (let count = 2; count <= 4; count++) {
      release(true);
      await expect.poll(() => deltas().length).toBe(count);
    }
    release(true);
    expect(await ending).toMatchObject({ type: "finish" });
    expect(deltas()).toEqual(words);
  });

  it("stops at the sink's word with no end part, and leaves the upstream", async () => {
    const { sink, deltas } = recordingSink({ delta: () => false, ready: async () => false });
    expect(await pushStream(backend("one-write"), hello, sink)).toBeUndefined();
    expect(deltas()).toEqual(words.slice(0, 1));
  });

  it("relays the deltas before a malformed event mid-stream, then ends with an error and hangs up on the upstream", async () => {
    const { sink, deltas } = recordingSink();
    const end = await pushStream(backend("malformed-mid-stream"), hello, sink);
    expect(deltas()).toEqual(["Hello", " there"]);
    expect(end).toMatchObject({ type: "error", error: { code: "upstream_bad_response", message: expect.stringMatching(/not JSON/) } });
    await expect.poll(() => closed).toContain("malformed-mid-stream");
  });

  it("hangs up on the upstream when a reader of the pull stream leaves early, while the upstream is silent", async () => {
    const read: string[] = [];
    for await (const part of backend("stalls").stream(hello)) {
      if (part.type === "text-delta") read.push(part.text);
      if (read.length === 2) break;
    }
    expect(read).toEqual(["Hello", " there"]);
    await expect.poll(() => closed).toContain("stalls");
  });

  it("reads a recorded vLLM answer sent one byte at a time as its pull stream does", async () => {
    const { sink, deltas } = recordingSink();
    const fixtureServer = await startFixtureServer({
      bytes: async (_, res) => {
        const { sendEventStream } = await import("../../test/fixtureServer.ts");
        await sendEventStream(res, fixture("vllm.sse"), 1);
      },
    });
    try {
      const oneByte = createOpenAICompatibleBackend({ baseUrl: fixtureServer.baseUrl("bytes"), model: "m" });
      const end = await pushStream(oneByte, hello, sink);
      expect(deltas().join("")).toBe("Hello! How can I help you today?");
      expect(end).toEqual({ type: "finish", finishReason: "stop", usage: { promptTokens: 30, completionTokens: 9 } });
    } finally {
      await fixtureServer.close();
    }
  });
});
