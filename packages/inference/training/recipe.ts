import type { ModelConfig } from "./config.ts";
import { vocabSize } from "./vocab.ts";

/** Everything that determines a training run; the same recipe and seed give the same weights. */
export type Recipe = {
  name: string;
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
};

const base = { vocabSize, ropeBase: 10000, normEps: 1e-5 };

/** The committed model `kjv-char-llama`. */
export const kjvCharLlama: Recipe = {
  name: "kjv-char-llama",
  model: { ...base, dim: 80, layers: 3, heads: 4, ffnDim: 224, contextSize: 256 },
  seed: 20251125,
  steps: 1200,
  batchSize: 8,
  peakLearningRate: 3e-3,
  warmupSteps: 60,
  minLearningRateRatio: 0.1,
  weightDecay: 0.05,
  beta1: 0.9,
  beta2: 0.98,
  gradClip: 1,
  validationWindows: 64,
  validationEvery: 200,
};

/** A run of seconds that checks the whole pipeline (training, GGUF, llama.cpp) end to end. */
export const smoke: Recipe = {
  ...kjvCharLlama,
  name: "kjv-char-llama-smoke",
  model: { ...base, dim: 32, layers: 1, heads: 2, ffnDim: 64, contextSize: 128 },
  steps: 30,
  batchSize: 4,
  warmupSteps: 5,
  validationWindows: 8,
  validationEvery: 10,
};

export const recipes: Record<string, Recipe> = { [kjvCharLlama.name]: kjvCharLlama, [smoke.name]: smoke };
