/**
 * Trains the embedded model from the KJV text that Debian ships and writes it as GGUF.
 *
 *     npm run train -w packages/inference -- [--recipe kjv-char-llama] [--steps N] [--out DIR]
 *
 * One thread, fixed seed and step count: the same recipe reproduces the same weights.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parameterCount } from "./config.ts";
import { parseKjv, readKjvText } from "./corpus.ts";
import { conversationWindow, splitByChapter, type Window } from "./dataset.ts";
import { ModelTensors, Trainer, initialize } from "./model.ts";
import { modelToGguf } from "./modelFile.ts";
import { AdamW, learningRate } from "./optimizer.ts";
import { recipes } from "./recipe.ts";
import { Rng } from "./rng.ts";
import { sampleReplies } from "./samples.ts";

const { values: args } = parseArgs({
  options: {
    recipe: { type: "string", default: "kjv-char-llama" },
    steps: { type: "string" },
    out: { type: "string", default: resolve(import.meta.dirname, "../models") },
  },
});
const found = recipes[args.recipe!];
if (!found) throw new Error(`Unknown recipe ${args.recipe}; known: ${Object.keys(recipes).join(", ")}`);
const recipe = { ...found, steps: args.steps ? Number(args.steps) : found.steps };
const { model: config } = recipe;
const T = config.contextSize;

const corpusText = readKjvText();
const corpusSha256 = createHash("sha256").update(corpusText).digest("hex");
const { train, validation } = splitByChapter(parseKjv(corpusText));
log(`corpus: ${corpusText.length} chars, sha256 ${corpusSha256.slice(0, 16)}…; ${train.length} training / ${validation.length} validation verses`);
log(`model: ${JSON.stringify(config)}, ${parameterCount(config)} parameters; ${recipe.steps} steps of ${recipe.batchSize}×${T} tokens`);

const rng = new Rng(recipe.seed);
const params = new ModelTensors(config);
initialize(params, rng);
const grads = new ModelTensors(config);
const trainer = new Trainer(config, recipe.batchSize, T);
const optimizer = new AdamW(params, { beta1: recipe.beta1, beta2: recipe.beta2, eps: 1e-8, weightDecay: recipe.weightDecay });

const validationRng = new Rng(recipe.seed ^ 0x5eed);
const validationSet = Array.from({ length: recipe.validationWindows }, () =>
  conversationWindow(validation, validationRng.int(validation.length), T, validationRng),
);

const inputs = new Int32Array(recipe.batchSize * T);
const targets = new Int32Array(recipe.batchSize * T);
function fill(windows: readonly Window[], scoreOnlyAssistantText: boolean): void {
  windows.forEach((w, b) => {
    inputs.set(w.inputs, b * T);
    targets.set(w.targets.map((t, i) => (scoreOnlyAssistantText && !w.assistantText[i] ? -1 : t)), b * T);
  });
}

/** Mean loss per token over the validation windows: all tokens, and the assistant's verse characters only. */
function validate(): { all: number; assistantText: number } {
  const result = { all: 0, assistantText: 0 };
  for (const key of ["all", "assistantText"] as const) {
    let total = 0;
    let count = 0;
    for (let i = 0; i < validationSet.length; i += recipe.batchSize) {
      const windows = validationSet.slice(i, i + recipe.batchSize);
      fill(windows, key === "assistantText");
      const scored = targets.reduce((n, t) => n + (t >= 0 ? 1 : 0), 0);
      total += trainer.forward(params, inputs, targets) * scored;
      count += scored;
    }
    result[key] = total / count;
  }
  return result;
}

const started = performance.now();
const history: Array<{ step: number; trainLoss: number; validationLoss: number; validationAssistantText: number; seconds: number }> = [];
let runningLoss = 0;
for (let step = 0; step < recipe.steps; step++) {
  fill(Array.from({ length: recipe.batchSize }, () => conversationWindow(train, rng.int(train.length), T, rng)), false);
  const loss = trainer.forward(params, inputs, targets);
  trainer.backward(params, grads);
  const lr = learningRate(step, recipe.steps, recipe.peakLearningRate, recipe.warmupSteps, recipe.minLearningRateRatio);
  const norm = optimizer.update(params.data, grads.data, lr, recipe.gradClip);
  runningLoss = step === 0 ? loss : 0.95 * runningLoss + 0.05 * loss;
  const seconds = (performance.now() - started) / 1000;
  if (step % 10 === 0 || step === recipe.steps - 1) {
    const tokensPerSecond = ((step + 1) * recipe.batchSize * T) / seconds;
    log(`step ${step + 1}/${recipe.steps} loss ${loss.toFixed(3)} (avg ${runningLoss.toFixed(3)}) lr ${lr.toExponential(2)} |g| ${norm.toFixed(2)} ${seconds.toFixed(0)}s ${tokensPerSecond.toFixed(0)} tok/s`);
  }
  if ((step + 1) % recipe.validationEvery === 0 || step === recipe.steps - 1) {
    const v = validate();
    history.push({ step: step + 1, trainLoss: runningLoss, validationLoss: v.all, validationAssistantText: v.assistantText, seconds });
    log(`validation after ${step + 1} steps: ${v.all.toFixed(4)} nats/token, assistant verse text ${v.assistantText.toFixed(4)} nats/char`);
  }
}
const seconds = (performance.now() - started) / 1000;

mkdirSync(args.out!, { recursive: true });
const gguf = modelToGguf(params, recipe.name);
const fileName = `${recipe.name}.gguf`;
const sha256 = createHash("sha256").update(gguf).digest("hex");
writeFileSync(join(args.out!, fileName), gguf);
writeFileSync(join(args.out!, `${fileName}.sha256`), `${sha256}  ${fileName}\n`);
const final = history[history.length - 1]!;
const samples = sampleReplies(params);
writeFileSync(
  join(args.out!, `${recipe.name}.json`),
  JSON.stringify(
    {
      fileName, sha256, bytes: gguf.length, parameters: parameterCount(config), recipe,
      corpus: { source: "Debian bible-kjv-text via `bible -p /usr/lib -l100000 Gen1:1-Rev22:21`", chars: corpusText.length, sha256: corpusSha256 },
      trainingSeconds: Math.round(seconds), finalValidation: { nats_per_token: final.validationLoss, assistant_text_nats_per_char: final.validationAssistantText },
      history, samples,
    },
    null, 2,
  ) + "\n",
);
log(`wrote ${fileName} (${gguf.length} bytes, sha256 ${sha256}) after ${seconds.toFixed(0)} s`);
for (const sample of samples) log(`greedy  ${JSON.stringify(sample.prompt)} → ${JSON.stringify(sample.reply)}`);

function log(line: string): void {
  console.log(`[train] ${line}`);
}
