import { readFileSync } from "node:fs";
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ggufToModel, ggufToTokenizer } from "../../training/modelFile.ts";
import { ReferenceDecoder } from "../../training/reference.ts";
import { Rng } from "../../training/rng.ts";
import { TokenType } from "../../training/tokenizer.ts";
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
  [
    { role: "system", content: "Quote the King James Bible." },
    { role: "user", content: "Psalms 23:1" },
  ],
  [
    { role: "user", content: "Exodus 3:14" },
    { role: "assistant", content: "And God said unto Moses, I AM THAT I AM." },
    { role: "user", content: "Exodus 3:15" },
  ],
  [{ role: "user", content: "Héllo wörld — 🙂" }],
];
const MAX_TOKENS = 120;
const weights = readFileSync(embeddedModelInfo.path);
const tokenizer = ggufToTokenizer(weights);
const { decode, encode, isTextToken, templateTokenIds, vocabulary } = tokenizer;

/** Texts that stress the merge order: random runs of vocabulary pieces, spaces, bytes and control-token text. */
function adversarialTexts(count: number): string[] {
  const rng = new Rng(17);
  const extras = [" ", "  ", "\n", "\t", "é", "日本", "🙂", "<|user|>", "</s>", "<0x41>", "▁", ",", ".", "LORD", "1:1"];
  return Array.from({ length: count }, () => {
    let text = "";
    for (let parts = 1 + rng.int(12); parts > 0; parts--) {
      if (rng.next() < 0.25) text += extras[rng.int(extras.length)];
      else {
        const entry = vocabulary[rng.int(vocabulary.length)]!;
        if (entry.type === TokenType.normal) text += entry.text.replaceAll("▁", " ");
      }
    }
    return text;
  });
}

const promptTokens = (messages: ChatMessage[]) =>
  buildPrompt({ messages, ids: templateTokenIds, tokenize: encode, maxPromptTokens: 256, overflow: "error", contextSize: 256 }).tokens;

describe("llama.cpp runs our model exactly as the JS reference does", () => {
  const reference = new ReferenceDecoder(ggufToModel(weights));
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

  it("tokenizes every prompt's text, and 2,000 adversarial texts, as our tokenizer does", () => {
    const texts = [...conversations.flat().map((m) => m.content), ...adversarialTexts(2000)];
    for (const text of texts) expect(context.model.tokenize(text, false), JSON.stringify(text)).toEqual(encode(text));
  });

  it("detokenizes every token to the bytes our tokenizer says, at least one byte for each text token", () => {
    for (let id = 0; id < vocabulary.length; id++) {
      const text = context.model.detokenize([id as Token]);
      if (isTextToken(id)) {
        // A lone byte token of a multi-byte character decodes to U+FFFD on both sides.
        expect(text, vocabulary[id]!.text).toBe(decode([id]));
        expect(tokenizer.bytes([id]).length).toBeGreaterThanOrEqual(1);
      } else expect(text).toBe("");
    }
  });

  it.each(conversations.map((messages, i) => [messages.at(-1)!.content, i] as const))("greedy decoding after %j matches token for token", async (_, i) => {
    const { prompt, tokens: want } = expected[i]!;
    const sequence = context.getSequence();
    const got: number[] = [];
    try {
      for await (const token of sequence.evaluate(prompt as Token[], { temperature: 0, yieldEogToken: true })) {
        got.push(token);
        if (!isTextToken(token) || got.length >= MAX_TOKENS) break;
      }
    } finally {
      await sequence.dispose();
    }
    // Subword replies are short (a verse is ~10 tokens); a comparison still spans several tokens, and all of them 70+.
    expect(want.length).toBeGreaterThanOrEqual(5);
    expect(expected.reduce((sum, e) => sum + e.tokens.length, 0)).toBeGreaterThan(70);
    expect(got).toEqual(want);
  });

  it("and the embedded backend delivers that text with those counts", async () => {
    const backend = await createEmbeddedBackend({ maxConcurrent: 2 });
    try {
      const results = await Promise.all(conversations.map((messages) => backend.generate({ messages, temperature: 0, maxTokens: MAX_TOKENS })));
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
