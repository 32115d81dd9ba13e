import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelTensors } from "../../training/model.ts";
import { ggufToModel, ggufToTokenizer, modelMetadata } from "../../training/modelFile.ts";
import { tensorSpecs } from "../../training/config.ts";
import { readGguf, writeGguf } from "../../training/gguf.ts";
import { ReferenceDecoder } from "../../training/reference.ts";
import { Tokenizer, baseVocabulary } from "../../training/tokenizer.ts";
import { buildPrompt } from "../chatTemplate.ts";
import { ContextOverflowError, InvalidRequestError, ModelLoadError, UnsupportedModelError } from "../errors.ts";
import type { ChatBackend, ChatMessage, ChatRequest, StreamPart } from "../types.ts";
import { createEmbeddedBackend } from "./createEmbeddedBackend.ts";
import { embeddedModelInfo } from "./embeddedModelInfo.ts";

let backend: ChatBackend;
beforeAll(async () => {
  backend = await createEmbeddedBackend({ maxConcurrent: 2 });
});
afterAll(() => backend.close());

const ask = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [{ role: "user", content }],
  temperature: 0,
  maxTokens: 80,
  ...extra,
});

const weights = readFileSync(embeddedModelInfo.path);
const tokenizer = ggufToTokenizer(weights);
const { encode, decode, isTextToken, templateTokenIds } = tokenizer;
const reference = new ReferenceDecoder(ggufToModel(weights));

/** Prompt tokens by our own tokenizer and template, independent of llama.cpp. */
function expectedPrompt(messages: ChatMessage[]): number[] {
  return buildPrompt({ messages, ids: templateTokenIds, tokenize: encode, maxPromptTokens: 1e9, overflow: "error", contextSize: 1e9 }).tokens;
}
const expectedPromptTokens = (messages: ChatMessage[]) => expectedPrompt(messages).length;

/** The tokens greedy decoding samples, by the JS reference (the parity test checks llama.cpp against it). */
function expectedGreedy(request: ChatRequest): number[] {
  const prompt = expectedPrompt(request.messages);
  return reference.greedy(prompt, Math.min(request.maxTokens!, embeddedModelInfo.contextSize - prompt.length), (t) => !isTextToken(t));
}

/** Tokens of `tokens` up to the first whose text completes `stop`. */
function tokensThrough(tokens: number[], stop: string): number {
  for (let k = 1; k <= tokens.length; k++) if (decode(tokens.slice(0, k)).includes(stop)) return k;
  throw new Error(`${JSON.stringify(stop)} is not in the reply`);
}

const utf8Length = (text: string) => new TextEncoder().encode(text).length;

async function collect(parts: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const out: StreamPart[] = [];
  for await (const part of parts) out.push(part);
  return out;
}

describe("embeddedModelInfo", () => {
  it("names the committed weights by their sha256", () => {
    const sha256 = createHash("sha256").update(readFileSync(embeddedModelInfo.path)).digest("hex");
    expect(sha256).toBe(embeddedModelInfo.sha256);
    expect(readFileSync(`${embeddedModelInfo.path}.sha256`, "utf8")).toBe(`${sha256}  ${embeddedModelInfo.fileName}\n`);
  });

  it("states the context the model was trained on", () => {
    expect(readGguf(readFileSync(embeddedModelInfo.path)).metadata.get("llama.context_length")).toBe(embeddedModelInfo.contextSize);
  });
});

describe("createEmbeddedBackend", () => {
  it("generates text with exact counts: every prompt token evaluated and every token sampled", async () => {
    const request = ask("And God said,", { maxTokens: 200 });
    const result = await backend.generate(request);
    expect(backend.modelId).toBe("kjv-bpe-llama");
    expect(result.text.length).toBeGreaterThan(10);
    expect(result.usage.promptTokens).toBe(expectedPromptTokens(request.messages));
    // Every token sampled, the end marker included when the model ended its turn.
    const tokens = expectedGreedy(request);
    expect(result.text).toBe(decode(tokens));
    expect(result.usage.completionTokens).toBe(tokens.length);
    expect(result.finishReason).toBe(isTextToken(tokens.at(-1)!) ? "length" : "stop");
    // The SDK's client-side bound: a token is at least one byte.
    expect(result.usage.completionTokens).toBeLessThanOrEqual(utf8Length(result.text) + 1);
  });

  it("streams the same text as it generates, then exactly one finish part", async () => {
    const request = ask("Genesis 1:3");
    const generated = await backend.generate(request);
    const parts = await collect(backend.stream(request));
    const deltas = parts.filter((p): p is Extract<StreamPart, { type: "text-delta" }> => p.type === "text-delta");
    expect(deltas.map((d) => d.text).join("")).toBe(generated.text);
    expect(parts.at(-1)).toEqual({ type: "finish", finishReason: generated.finishReason, usage: generated.usage });
    expect(parts.filter((p) => p.type !== "text-delta")).toHaveLength(1);
  });

  it("stops at maxTokens with finish reason length", async () => {
    const result = await backend.generate(ask("In the beginning", { maxTokens: 7 }));
    expect(result).toMatchObject({ finishReason: "length", usage: { completionTokens: 7 } });
    expect(result.text).toBe(decode(expectedGreedy(ask("In the beginning", { maxTokens: 7 }))));
    expect(utf8Length(result.text)).toBeGreaterThanOrEqual(7);
  });

  it("cuts the reply before a stop sequence and counts the tokens generated", async () => {
    const request = ask("And the LORD spake unto Moses, saying,", { maxTokens: 60 });
    const full = await backend.generate(request);
    const tokens = expectedGreedy(request);
    // The stop sequence is the start of a token of 3+ characters: it ends inside that token, which was sampled whole and counts.
    const long = tokens.findIndex((t, i) => i >= 3 && decode([t]).length >= 3);
    const stop = decode([tokens[long]!]).slice(0, 2);
    const cutAt = full.text.indexOf(stop);
    const result = await backend.generate({ ...request, stop: [stop] });
    expect(result.text).toBe(full.text.slice(0, cutAt));
    expect(result.finishReason).toBe("stop");
    expect(result.usage.completionTokens).toBe(tokensThrough(tokens, stop));
    expect(utf8Length(decode(tokens.slice(0, result.usage.completionTokens)))).toBeGreaterThan(cutAt + stop.length);
  });

  it("delivers text held back as a possible stop sequence when the model ends its turn", async () => {
    // Greedy decoding of a tiny model loops; sampled replies end their turn. Take the first seed that does.
    let request = ask("Blessed are the", { maxTokens: 200, temperature: 0.8, seed: 0 });
    let full = await backend.generate(request);
    while (full.finishReason !== "stop" && request.seed! < 20) {
      request = { ...request, seed: request.seed! + 1 };
      full = await backend.generate(request);
    }
    expect(full.finishReason).toBe("stop");
    // Sampled tokens need not be the text's own tokenization; each is at least one byte, and one ended the turn.
    expect(full.usage.completionTokens).toBeGreaterThanOrEqual(2);
    expect(full.usage.completionTokens).toBeLessThanOrEqual(utf8Length(full.text) + 1);
    const neverCompleted = `${full.text.at(-1)}\u0000`;
    expect(await backend.generate({ ...request, stop: [neverCompleted] })).toEqual(full);
  });

  it("serves concurrent requests, beyond maxConcurrent, each as if it ran alone", async () => {
    const prompts = ["John 3:16", "Blessed are the", "Psalms 23:1", "And it came to pass", "Exodus 20:3"];
    const alone = [];
    for (const prompt of prompts) alone.push(await backend.generate(ask(prompt)));
    const together = await Promise.all(prompts.map((prompt) => backend.generate(ask(prompt))));
    expect(together).toEqual(alone);
  });

  it("samples reproducibly with a seed", async () => {
    const request = ask("Genesis 2:7", { temperature: 1, seed: 42 });
    const first = await backend.generate(request);
    expect(await backend.generate(request)).toEqual(first);
  });

  it("on abort, finishes with reason abort and the tokens generated so far", async () => {
    const controller = new AbortController();
    const parts: StreamPart[] = [];
    const request = ask("Genesis 5:1", { maxTokens: 200 });
    for await (const part of backend.stream(request, { signal: controller.signal })) {
      parts.push(part);
      if (parts.length === 3) controller.abort();
    }
    const delivered = parts
      .filter((p) => p.type === "text-delta")
      .map((p) => (p as { text: string }).text)
      .join("");
    expect(parts.at(-1)).toMatchObject({ type: "finish", finishReason: "abort" });
    const { completionTokens } = (parts.at(-1) as { usage: { completionTokens: number } }).usage;
    expect(completionTokens).toBeGreaterThanOrEqual(3);
    expect(decode(expectedGreedy(request).slice(0, completionTokens))).toBe(delivered);
  });

  it("finishes a request aborted while it waits for a slot with zero usage", async () => {
    const busy = [backend.generate(ask("Genesis 1:1")), backend.generate(ask("Genesis 1:2"))];
    const controller = new AbortController();
    const waiting = backend.generate(ask("Genesis 1:3"), { signal: controller.signal });
    controller.abort();
    expect(await waiting).toEqual({ text: "", finishReason: "abort", usage: { promptTokens: 0, completionTokens: 0 } });
    await Promise.all(busy);
  });

  it("drops the oldest turns of a conversation longer than the context", async () => {
    const history: ChatMessage[] = [];
    for (let i = 1; i <= 30; i++) {
      history.push({ role: "user", content: `Genesis 1:${i}` }, { role: "assistant", content: "And God said, Let there be light: and there was light." });
    }
    history.push({ role: "user", content: "Genesis 1:31" });
    const result = await backend.generate({ messages: history, temperature: 0, maxTokens: 20 });
    expect(result.usage.promptTokens).toBeLessThanOrEqual(embeddedModelInfo.contextSize - 20);
    expect(result.usage.promptTokens).toBeGreaterThan(embeddedModelInfo.contextSize / 2);
    await expect(
      (async () => {
        const strict = await createEmbeddedBackend({ contextOverflow: "error", maxConcurrent: 1 });
        try {
          return await strict.generate({ messages: history, maxTokens: 20 });
        } finally {
          await strict.close();
        }
      })(),
    ).rejects.toBeInstanceOf(ContextOverflowError);
  });

  it("rejects malformed requests", async () => {
    await expect(backend.generate({ messages: [] })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(backend.generate({ messages: [{ role: "tool" as "user", content: "x" }] })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(backend.generate(ask("x", { maxTokens: 1.5 }))).rejects.toBeInstanceOf(InvalidRequestError);
    const parts = await collect(backend.stream(ask("x", { temperature: -1 })));
    expect(parts).toEqual([{ type: "error", error: expect.any(InvalidRequestError) }]);
  });

  it("fails to load a missing file, and a GGUF without our chat template's tokens", async () => {
    await expect(createEmbeddedBackend({ modelPath: "/nonexistent/model.gguf" })).rejects.toBeInstanceOf(ModelLoadError);
    const config = { vocabSize: baseVocabulary.length, dim: 8, layers: 1, heads: 2, ffnDim: 8, contextSize: 16, ropeBase: 10000, normEps: 1e-5 };
    const metadata = modelMetadata(config, "foreign", new Tokenizer(baseVocabulary)).map(([key, value]): [string, typeof value] =>
      key === "tokenizer.ggml.tokens" && value.type === "string[]"
        ? [key, { type: "string[]", value: value.value.map((t) => (t === "<|user|>" ? "<|human|>" : t)) }]
        : [key, value],
    );
    const model = new ModelTensors(config);
    const tensors = tensorSpecs(config).map((spec) => ({ ...spec, data: Float32Array.from(model.byName.get(spec.name)!) }));
    const path = join(mkdtempSync(join(tmpdir(), "inference-")), "foreign.gguf");
    writeFileSync(path, writeGguf(metadata, tensors));
    await expect(createEmbeddedBackend({ modelPath: path })).rejects.toBeInstanceOf(UnsupportedModelError);
  });

  it("refuses calls after close", async () => {
    const closing = await createEmbeddedBackend({ maxConcurrent: 1 });
    await closing.close();
    await expect(closing.generate(ask("x"))).rejects.toMatchObject({ code: "backend_closed" });
  });
});
