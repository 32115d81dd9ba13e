import { buildPrompt } from "../src/chatTemplate.ts";
import type { ModelTensors } from "./model.ts";
import { ReferenceDecoder } from "./reference.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** Prompts that show what the model learned: verse references, and openings of verses. */
export const samplePrompts = [
  "Genesis 1:1",
  "John 3:16",
  "Psalms 23:1",
  "Exodus 20:3",
  "Matthew 5:9",
  "In the beginning",
  "And the LORD said unto Moses,",
  "Blessed are the",
  "The LORD is my shepherd;",
  "For God so loved the world,",
];

/** Greedy replies of the JS reference to {@link samplePrompts}. */
export function sampleReplies(model: ModelTensors, tokenizer: Tokenizer, maxTokens = 120): Array<{ prompt: string; reply: string }> {
  const { templateTokenIds, encode, decode, isTextToken } = tokenizer;
  const decoder = new ReferenceDecoder(model);
  return samplePrompts.map((prompt) => {
    const { tokens } = buildPrompt({
      messages: [{ role: "user", content: prompt }],
      ids: templateTokenIds,
      tokenize: encode,
      maxPromptTokens: model.config.contextSize,
      overflow: "error",
      contextSize: model.config.contextSize,
    });
    const reply = decoder.greedy(tokens, Math.min(maxTokens, model.config.contextSize - tokens.length), (t) => !isTextToken(t));
    return { prompt, reply: decode(reply) };
  });
}
