import { readFileSync } from "node:fs";
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ggufToModel } from "../../training/modelFile.ts";
import { ReferenceDecoder } from "../../training/reference.ts";
import { decode, encode, isTextToken, templateTokenIds } from "../../training/vocab.ts";
import { buildPrompt } from "../chatTemplate.ts";
import type { ChatMessage } from "../types.ts";
import { createEmbeddedBackend } from "./createEmbeddedBackend.ts";
import { embeddedModelInfo } from "./embeddedModelInfo.ts";

/** Fixed prompts: references, verse openings, a system turn, several turns, and characters outside the vocabulary. */
const conversations: ChatMessage[][] = [
  [{ role: "user", content: "Genesis 1:1" }],
  [{ role: "user", content: "John 3:16" }],
  [{ role: "user", content: "In the beginning" }],
  [{ role: "user", content: "And the LORD said unto Moses," }],
  [{ role: "system", content: "Quote the King James Bible." }, { role: "user", content: "Psalms 23:1" }],
  [
    { role: "user", content: "Exodus 3:14" },
    { role: "assistant", content: "And God said unto Moses, I AM THAT I AM." },
    { role: "user", content: "Exodus 3:15" },
  ],
  [{ role: "user", content: "Héllo wörld — 🙂" }],
];
const MAX_TOKENS = 120;

const promptTokens = (messages: ChatMessage[]) =>
  buildPrompt({ messages, ids: templateTokenIds, tokenize: encode, maxPromptTokens: 256, overflow: "error", contextSize: 256 }).tokens;

describe("llama.cpp runs our model exactly as the JS reference does", () => {
  const reference = new ReferenceDecoder(ggufToModel(readFileSync(embeddedModelInfo.path)));
  const expected = conversations.map((messages) => {
    const prompt = promptTokens(messages);
    return { prompt, tokens: reference.greedy(prompt, MAX_TOKENS, (t) => !isTextToken(t)) };
  });
  let llama: Llama;
  let context: LlamaContext;

  beforeAll(async () => {
    llama = await getLlama({ gpu: false, build: "never", skipDownload: true, progressLogs: false, maxThreads: 1, logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: embeddedModelInfo.path, gpuLayers: 0 });
    context = await model.createContext({ contextSize: embeddedModelInfo.contextSize, sequences: 1, threads: 1, flashAttention: false });
  });
  afterAll(() => llama.dispose());

  it("tokenizes every prompt's text as our tokenizer does", () => {
    for (const messages of conversations) {
      for (const { content } of messages) expect(context.model.tokenize(content, false)).toEqual(encode(content));
    }
  });

  it.each(conversations.map((messages, i) => [messages.at(-1)!.content, i] as const))(
    "greedy decoding after %j matches token for token",
    async (_, i) => {
      const { prompt, tokens: want } = expected[i]!;
      const sequence = context.getSequence();
      const got: number[] = [];
      try {
        for await (const token of sequence.evaluate(prompt as Token[], { temperature: 0, yieldEogToken: true })) {
          got.push(token);
          if (!isTextToken(token) || got.length >= MAX_TOKENS) break;
        }
      } finally {
        sequence.dispose();
      }
      expect(want.length).toBeGreaterThan(10);
      expect(got).toEqual(want);
    },
  );

  it("and the embedded backend delivers that text with those counts", async () => {
    const backend = await createEmbeddedBackend({ maxConcurrent: 2 });
    try {
      const results = await Promise.all(
        conversations.map((messages) => backend.generate({ messages, temperature: 0, maxTokens: MAX_TOKENS })),
      );
      results.forEach((result, i) => {
        const { prompt, tokens } = expected[i]!;
        const ended = !isTextToken(tokens.at(-1)!);
        expect(result).toEqual({
          text: decode(tokens),
          finishReason: ended ? "stop" : "length",
          usage: { promptTokens: prompt.length, completionTokens: tokens.length },
        });
      });
    } finally {
      await backend.close();
    }
  });
});
