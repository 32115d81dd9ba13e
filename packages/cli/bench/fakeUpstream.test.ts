import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAICompatibleBackend } from "@session-jobs/inference";
import { startFakeUpstream, type FakeUpstream } from "./fakeUpstream.ts";

// The relay benchmark's upstream must stay a valid OpenAI server, or the benchmark measures nothing.
// Pacing is shrunk so the test is quick; it never asserts on time.
describe("the benchmark's fake upstream", () => {
  let upstream: FakeUpstream;
  beforeAll(async () => {
    upstream = await startFakeUpstream({ firstTokenMs: 1, gapMs: [0, 1], seed: 7 });
  });
  afterAll(() => upstream.close());

  const messages = [{ role: "user" as const, content: "In the beginning" }];

  it("streams chat.completion.chunk events that the official openai client reads, usage last", async () => {
    const client = new OpenAI({ baseURL: upstream.baseUrl, apiKey: "unused", maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: upstream.model,
      messages,
      max_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    const chunks = [];
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? "";
    }
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 3, completion_tokens: 12, total_tokens: 15 });
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe("length");
    expect(text.split(" ")).toHaveLength(12);
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content)).toHaveLength(12);
  });

  it("frames every event as `data: <json>` and a blank line, ending with [DONE]", async () => {
    const response = await fetch(`${upstream.baseUrl}/chat/completions`, { method: "POST", body: JSON.stringify({ messages, max_tokens: 3, stream: true }) });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const events = (await response.text()).split("\n\n");
    expect(events.pop()).toBe("");
    expect(events.pop()).toBe("data: [DONE]");
    for (const event of events) expect(() => JSON.parse(event.replace(/^data: /, ""))).not.toThrow();
    expect(events).toHaveLength(4); // three tokens and the finish; no usage unless asked for
  });

  it("is what the host's upstream backend bills exactly, and words the n-th answer alike for one seed", async () => {
    const backend = createOpenAICompatibleBackend({ baseUrl: upstream.baseUrl, model: upstream.model, maxRetries: 0 });
    const first = await backend.generate({ messages, maxTokens: 8 });
    expect(first.usage).toEqual({ promptTokens: 3, completionTokens: 8 });
    const again = await startFakeUpstream({ firstTokenMs: 1, gapMs: [0, 1], seed: 7 });
    try {
      const twin = createOpenAICompatibleBackend({ baseUrl: again.baseUrl, model: again.model, maxRetries: 0 });
      for (let request = again.requests(); request < upstream.requests() - 1; request++) await twin.generate({ messages, maxTokens: 8 });
      expect((await twin.generate({ messages, maxTokens: 8 })).text).toBe(first.text);
    } finally {
      await backend.close();
      await again.close();
    }
  });

  it("answers a non-streamed request, a wrong path and a body that is not JSON with an OpenAI error", async () => {
    for (const [path, body, status] of [
      ["/chat/completions", JSON.stringify({ messages }), 400],
      ["/models", "{}", 404],
      ["/chat/completions", "{not json", 400],
    ] as const) {
      const response = await fetch(`${upstream.baseUrl}${path}`, { method: "POST", body });
      expect(response.status).toBe(status);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/./);
    }
  });

  it("lists its model at GET /models, which the host's readiness probe asks before it serves", async () => {
    const response = await fetch(`${upstream.baseUrl}/models`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ object: "list", data: [{ id: upstream.model, object: "model", created: 0, owned_by: "fake-upstream" }] });
  });

  it("stops an answer whose client went away and keeps serving", async () => {
    const controller = new AbortController();
    const response = await fetch(`${upstream.baseUrl}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ messages, max_tokens: 100_000, stream: true }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    const backend = createOpenAICompatibleBackend({ baseUrl: upstream.baseUrl, model: upstream.model, maxRetries: 0 });
    expect((await backend.generate({ messages, maxTokens: 2 })).usage.completionTokens).toBe(2);
    await backend.close();
  });
});
