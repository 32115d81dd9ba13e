import { buildPrompt } from "../src/chatTemplate.ts";
import type { ModelTensors } from "./model.ts";
import { ReferenceDecoder } from "./reference.ts";
import { decode, encode, isTextToken, templateTokenIds } from "./vocab.ts";

/** Prompts that show what the model learned: a reference, and the start of a verse in and out of the training set. */
export const samplePrompts = ["Genesis 1:1", "John 3:16", "In the beginning", "And the LORD said unto Moses,", "Blessed are the"];

/** Greedy replies of the JS reference to {@link samplePrompts}. */
export function sampleReplies(model: ModelTensors, maxTokens = 120): Array<{ prompt: string; reply: string }> {
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
