/**
 * Trains the embedded model from the KJV text that Debian ships and writes it as GGUF.
 *
 *     npm run train -w packages/inference -- [--recipe kjv-bpe-llama] [--steps N] [--out DIR] [--stop-after N]
 *
 * One thread, fixed seed and step count: the same recipe reproduces the same weights. Every
 * `checkpointEvery` steps the run saves `<out>/<recipe>.checkpoint`; started again, it resumes
 * from there (with the same result as an uninterrupted run) and deletes it when done.
 * `--stop-after N` saves a checkpoint and stops after N steps, to train in slices.
 */
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { parameterCount } from "./config.ts";
import { parseKjv, readKjvText } from "./corpus.ts";
import { conversationWindow, splitByChapter, type Window } from "./dataset.ts";
import { ModelTensors, Trainer, initialize } from "./model.ts";
import { modelToGguf } from "./modelFile.ts";
import { AdamW, learningRate } from "./optimizer.ts";
import { recipes } from "./recipe.ts";
import { Rng } from "./rng.ts";
import { sampleReplies } from "./samples.ts";
import { Tokenizer, trainPieces, vocabularyWithPieces } from "./tokenizer.ts";

const { values: args } = parseArgs({
  options: {
    recipe: { type: "string", default: "kjv-bpe-llama" },
    steps: { type: "string" },
    out: { type: "string", default: resolve(import.meta.dirname, "../models") },
    "stop-after": { type: "string" },
  },
});
const found = recipes[args.recipe];
if (!found) throw new Error(`Unknown recipe ${args.recipe}; known: ${Object.keys(recipes).join(", ")}`);
const recipe = { ...found, steps: args.steps ? Number(args.steps) : found.steps };
const { model: config } = recipe;
const T = config.contextSize;

const corpusText = readKjvText();
const corpusSha256 = createHash("sha256").update(corpusText).digest("hex");
const { train, validation } = splitByChapter(parseKjv(corpusText));
log(`corpus: ${corpusText.length} chars, sha256 ${corpusSha256.slice(0, 16)}…; ${train.length} training / ${validation.length} validation verses`);

const pieces = trainPieces(
  train.flatMap((v) => [v.text, `${v.book} ${v.chapter}:${v.verse}`]),
  recipe.tokenizerPieces,
);
const tokenizer = new Tokenizer(vocabularyWithPieces(pieces));
if (tokenizer.vocabSize !== config.vocabSize) throw new Error(`the tokenizer has ${tokenizer.vocabSize} entries, the recipe ${config.vocabSize}`);
const tokenBytes = Int32Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.bytes([id]).length);
const validationChars = validation.reduce((n, v) => n + v.text.length, 0);
const validationTokens = validation.reduce((n, v) => n + tokenizer.encode(v.text).length, 0);
log(
  `tokenizer: ${tokenizer.vocabSize} entries (${pieces.length} learnt pieces), ${(validationChars / validationTokens).toFixed(3)} characters per token on validation verses`,
);
log(`model: ${JSON.stringify(config)}, ${parameterCount(config)} parameters; ${recipe.steps} steps of ${recipe.batchSize}×${T} tokens`);

const rng = new Rng(recipe.seed);
const params = new ModelTensors(config);
initialize(params, rng);
const grads = new ModelTensors(config);
const trainer = new Trainer(config, recipe.batchSize, T);
const optimizer = new AdamW(params, { beta1: recipe.beta1, beta2: recipe.beta2, eps: 1e-8, weightDecay: recipe.weightDecay });

const validationRng = new Rng(recipe.seed ^ 0x5eed);
const validationSet = Array.from({ length: recipe.validationWindows }, () =>
  conversationWindow(tokenizer, validation, validationRng.int(validation.length), T, validationRng),
);

const inputs = new Int32Array(recipe.batchSize * T);
const targets = new Int32Array(recipe.batchSize * T);
function fill(windows: readonly Window[], scoreOnlyAssistantText: boolean): void {
  windows.forEach((w, b) => {
    inputs.set(w.inputs, b * T);
    targets.set(
      w.targets.map((t, i) => (scoreOnlyAssistantText && !w.assistantText[i] ? -1 : t)),
      b * T,
    );
  });
}

/**
 * Validation loss: nats per token over all tokens, and over the assistant's verse text per
 * character (the sum of its tokens' nats over the bytes they stand for; the KJV is ASCII).
 */
function validate(): { all: number; assistantText: number } {
  const result = { all: 0, assistantText: 0 };
  for (const key of ["all", "assistantText"] as const) {
    let total = 0;
    let count = 0;
    for (let i = 0; i < validationSet.length; i += recipe.batchSize) {
      fill(validationSet.slice(i, i + recipe.batchSize), key === "assistantText");
      const scored = targets.reduce((n, t) => n + (t >= 0 ? 1 : 0), 0);
      total += trainer.forward(params, inputs, targets) * scored;
      count += key === "all" ? scored : targets.reduce((n, t) => n + (t >= 0 ? tokenBytes[t]! : 0), 0);
    }
    result[key] = total / count;
  }
  return result;
}

type HistoryEntry = {
  step: number;
  trainLoss: number;
  validationLoss: number;
  validationAssistantTextNatsPerChar: number;
  bitsPerChar: number;
  seconds: number;
};
mkdirSync(args.out, { recursive: true });
const checkpointPath = join(args.out, `${recipe.name}.checkpoint`);
const recipeJson = JSON.stringify(recipe);
let history: HistoryEntry[] = [];
let runningLoss = 0;
let firstStep = 0;
let secondsBefore = 0;
const checkpoint = loadCheckpoint(checkpointPath);
if (checkpoint) {
  if (checkpoint.recipe !== recipeJson) throw new Error(`${checkpointPath} is from another recipe or step count; delete it to start afresh`);
  [params.data, optimizer.m, optimizer.v].forEach((array, i) => array.set(checkpoint.arrays[i]!));
  optimizer.step = checkpoint.step;
  rng.restore(checkpoint.rng);
  ({ runningLoss, seconds: secondsBefore } = checkpoint);
  history = checkpoint.history as HistoryEntry[];
  firstStep = checkpoint.step;
  log(`resuming from ${checkpointPath} after step ${firstStep}`);
}

const started = performance.now();
const elapsed = () => secondsBefore + (performance.now() - started) / 1000;
for (let step = firstStep; step < recipe.steps; step++) {
  fill(
    Array.from({ length: recipe.batchSize }, () => conversationWindow(tokenizer, train, rng.int(train.length), T, rng)),
    false,
  );
  const loss = trainer.forward(params, inputs, targets);
  trainer.backward(params, grads);
  const lr = learningRate(step, recipe.steps, recipe.peakLearningRate, recipe.warmupSteps, recipe.minLearningRateRatio);
  const norm = optimizer.update(params.data, grads.data, lr, recipe.gradClip);
  runningLoss = step === 0 ? loss : 0.95 * runningLoss + 0.05 * loss;
  if (step % 10 === 0 || step === recipe.steps - 1) {
    const tokensPerSecond = ((step + 1 - firstStep) * recipe.batchSize * T) / ((performance.now() - started) / 1000);
    log(
      `step ${step + 1}/${recipe.steps} loss ${loss.toFixed(3)} (avg ${runningLoss.toFixed(3)}) lr ${lr.toExponential(2)} |g| ${norm.toFixed(2)} ${elapsed().toFixed(0)}s ${tokensPerSecond.toFixed(0)} tok/s`,
    );
  }
  if ((step + 1) % recipe.validationEvery === 0 || step === recipe.steps - 1) {
    const v = validate();
    const bitsPerChar = v.assistantText / Math.LN2;
    history.push({
      step: step + 1,
      trainLoss: runningLoss,
      validationLoss: v.all,
      validationAssistantTextNatsPerChar: v.assistantText,
      bitsPerChar,
      seconds: elapsed(),
    });
    log(
      `validation after ${step + 1} steps: ${v.all.toFixed(4)} nats/token, assistant verse text ${v.assistantText.toFixed(4)} nats/char = ${bitsPerChar.toFixed(4)} bits/char`,
    );
  }
  const stopping = args["stop-after"] !== undefined && step + 1 - firstStep >= Number(args["stop-after"]);
  if (((step + 1) % recipe.checkpointEvery === 0 || stopping) && step + 1 < recipe.steps) {
    saveCheckpoint(checkpointPath, {
      recipe: recipeJson,
      step: step + 1,
      rng: rng.state(),
      runningLoss,
      seconds: elapsed(),
      history,
      arrays: [params.data as Float32Array, optimizer.m, optimizer.v],
    });
    if (stopping) {
      log(`stopped after step ${step + 1}; run again to resume from ${checkpointPath}`);
      process.exit(0);
    }
  }
}
const seconds = elapsed();

const gguf = modelToGguf(params, recipe.name, tokenizer);
const fileName = `${recipe.name}.gguf`;
const sha256 = createHash("sha256").update(gguf).digest("hex");
writeFileSync(join(args.out, fileName), gguf);
writeFileSync(join(args.out, `${fileName}.sha256`), `${sha256}  ${fileName}\n`);
const final = history[history.length - 1]!;
const samples = sampleReplies(params, tokenizer);
writeFileSync(
  join(args.out, `${recipe.name}.json`),
  JSON.stringify(
    {
      fileName,
      sha256,
      bytes: gguf.length,
      parameters: parameterCount(config),
      recipe,
      corpus: { source: "Debian bible-kjv-text via `bible -p /usr/lib -l100000 Gen1:1-Rev22:21`", chars: corpusText.length, sha256: corpusSha256 },
      tokenizer: { entries: tokenizer.vocabSize, pieces: pieces.length, validationCharsPerToken: validationChars / validationTokens },
      trainingSeconds: Math.round(seconds),
      finalValidation: {
        nats_per_token: final.validationLoss,
        assistant_text_nats_per_char: final.validationAssistantTextNatsPerChar,
        assistant_text_bits_per_char: final.bitsPerChar,
      },
      history,
      samples,
    },
    null,
    2,
  ) + "\n",
);
rmSync(checkpointPath, { force: true });
log(`wrote ${fileName} (${gguf.length} bytes, sha256 ${sha256}) after ${seconds.toFixed(0)} s`);
for (const sample of samples) log(`greedy  ${JSON.stringify(sample.prompt)} → ${JSON.stringify(sample.reply)}`);

function log(line: string): void {
  console.log(`[train] ${line}`);
}
