/**
 * Prints the embedded model's greedy and sampled replies to the sample prompts as a Markdown
 * table (the one in the package README), through the embedded backend.
 *
 *     npm run samples -w packages/inference -- [--max-tokens 60] [--temperature 0.8] [--seed 1]
 */
import { parseArgs } from "node:util";
import { createEmbeddedBackend } from "../src/index.ts";
import { samplePrompts } from "../training/samples.ts";

const { values } = parseArgs({
  options: {
    "max-tokens": { type: "string", default: "60" },
    temperature: { type: "string", default: "0.8" },
    seed: { type: "string", default: "1" },
  },
});
const maxTokens = Number(values["max-tokens"]);
const backend = await createEmbeddedBackend();
const cell = (text: string, finishReason: string) => `${text.replaceAll("|", "\\|").trim()}${finishReason === "length" ? " …" : ""}`;
try {
  console.log(`| prompt | greedy (temperature 0) | sampled (temperature ${values.temperature}, seed ${values.seed}) |`);
  console.log("|---|---|---|");
  for (const prompt of samplePrompts) {
    const messages = [{ role: "user" as const, content: prompt }];
    const greedy = await backend.generate({ messages, maxTokens, temperature: 0 });
    const sampled = await backend.generate({ messages, maxTokens, temperature: Number(values.temperature), seed: Number(values.seed) });
    console.log(`| \`${prompt}\` | ${cell(greedy.text, greedy.finishReason)} | ${cell(sampled.text, sampled.finishReason)} |`);
  }
} finally {
  await backend.close();
}
