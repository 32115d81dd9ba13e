import type { ModelConfig } from "./config.ts";
import { baseVocabulary } from "./tokenizer.ts";

/** Everything that determines a training run; the same recipe and seed give the same weights. */
export type Recipe = {
  name: string;
  /** Subword pieces learnt by byte-pair encoding on the training verses (`model.vocabSize` = base entries + pieces). */
  tokenizerPieces: number;
  model: ModelConfig;
  seed: number;
  steps: number;
  batchSize: number;
  peakLearningRate: number;
  warmupSteps: number;
  minLearningRateRatio: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  gradClip: number;
  /** Validation windows (of `model.contextSize` tokens) and how often to score them. */
  validationWindows: number;
  validationEvery: number;
  /** Steps between checkpoints (a stopped run resumes from the last one). */
  checkpointEvery: number;
};

const base = { ropeBase: 10000, normEps: 1e-5 };
const vocabSizeWith = (pieces: number) => baseVocabulary.length + pieces;

/** The committed model `kjv-bpe-llama`. */
export const kjvBpeLlama: Recipe = {
  name: "kjv-bpe-llama",
  tokenizerPieces: 1179,
  model: { ...base, vocabSize: vocabSizeWith(1179), dim: 96, layers: 4, heads: 4, ffnDim: 256, contextSize: 256 },
  seed: 20261129,
  steps: 1900,
  batchSize: 4,
  peakLearningRate: 2.5e-3,
  warmupSteps: 40,
  minLearningRateRatio: 0.1,
  weightDecay: 0.05,
  beta1: 0.9,
  beta2: 0.98,
  gradClip: 1,
  validationWindows: 64,
  validationEvery: 380,
  checkpointEvery: 20,
};

/** A run of seconds that checks the whole pipeline (tokenizer, training, GGUF, llama.cpp) end to end. */
export const smoke: Recipe = {
  ...kjvBpeLlama,
  name: "kjv-bpe-llama-smoke",
  tokenizerPieces: 200,
  model: { ...base, vocabSize: vocabSizeWith(200), dim: 32, layers: 1, heads: 2, ffnDim: 64, contextSize: 128 },
  steps: 30,
  batchSize: 4,
  warmupSteps: 5,
  validationWindows: 8,
  validationEvery: 10,
  checkpointEvery: 10,
};

export const recipes: Record<string, Recipe> = { [kjvBpeLlama.name]: kjvBpeLlama, [smoke.name]: smoke };
