import { describe, expect, it } from "vitest";
import { readGguf } from "./gguf.ts";
import { ModelTensors, Trainer, initialize } from "./model.ts";
import { ggufToModel, ggufToTokenizer, modelToGguf } from "./modelFile.ts";
import { ReferenceDecoder } from "./reference.ts";
import { Rng } from "./rng.ts";
import { Tokenizer, vocabularyWithPieces } from "./tokenizer.ts";

const tokenizer = new Tokenizer(vocabularyWithPieces(["th", "▁th", "▁the", "LORD"]));
const { vocabSize } = tokenizer;

const config = { vocabSize, dim: 16, layers: 2, heads: 2, ffnDim: 24, contextSize: 12, ropeBase: 10000, normEps: 1e-5 };

function randomModel(seed: number): ModelTensors {
  const model = new ModelTensors(config);
  initialize(model, new Rng(seed));
  const rng = new Rng(seed + 1);
  for (let i = 0; i < model.data.length; i++) model.data[i] = model.data[i]! * 4 + rng.normal() * 0.05;
  return model;
}

describe("GGUF model file", () => {
  it("writes llama metadata and reads back identical tensors", () => {
    const model = randomModel(3);
    const bytes = modelToGguf(model, "test", tokenizer);
    const { metadata, tensors } = readGguf(bytes);
    expect(metadata.get("general.architecture")).toBe("llama");
    expect(metadata.get("tokenizer.ggml.model")).toBe("llama");
    expect(metadata.get("llama.rope.dimension_count")).toBe(8);
    expect((metadata.get("tokenizer.ggml.tokens") as string[]).length).toBe(vocabSize);
    expect(tensors.get("blk.1.ffn_down.weight")!.shape).toEqual([16, 24]);
    expect(ggufToModel(bytes).data).toEqual(model.data);
    expect(ggufToTokenizer(bytes).vocabulary).toEqual(tokenizer.vocabulary);
  });
});

describe("ReferenceDecoder", () => {
  it("computes the same logits as the training forward pass, token by token", () => {
    const model = randomModel(5);
    const rng = new Rng(9);
    const tokens = Int32Array.from({ length: config.contextSize }, () => rng.int(vocabSize));
    const trainer = new Trainer(config, 1, config.contextSize);
    // With target t at position i the loss is −log p_i(t); comparing every target recovers p_i.
    const decoder = new ReferenceDecoder(model);
    for (let i = 0; i < config.contextSize; i++) {
      const logits = decoder.next(tokens[i]!);
      let max = -Infinity;
      for (const l of logits) max = Math.max(max, l);
      let sum = 0;
      for (const l of logits) sum += Math.exp(l - max);
      for (const target of [0, 7, 300, vocabSize - 1]) {
        const targets = new Int32Array(config.contextSize).fill(-1);
        targets[i] = target;
        const loss = trainer.forward(model, tokens, targets);
        // Relative: the training kernels sum in float32 (WebAssembly SIMD), the reference in float64.
        const want = -(logits[target]! - max - Math.log(sum));
        expect(Math.abs(loss - want) / Math.max(1, Math.abs(want))).toBeLessThan(1e-5);
      }
    }
  });
});
