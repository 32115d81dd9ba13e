import { describe, expect, it } from "vitest";
import type { ModelConfig } from "./config.ts";
import { ModelTensors, Trainer, initialize } from "./model.ts";
import { Rng } from "./rng.ts";

const tiny: ModelConfig = { vocabSize: 11, dim: 8, layers: 2, heads: 2, ffnDim: 12, contextSize: 9, ropeBase: 10000, normEps: 1e-5 };

describe("Trainer", () => {
  it("computes the gradient of the loss (finite differences agree with backprop)", () => {
    const rng = new Rng(7);
    const params = new ModelTensors(tiny, Float64Array);
    initialize(params, rng);
    // Norm gains away from 1 and larger weights, so that every term of the gradient matters.
    for (let i = 0; i < params.data.length; i++) params.data[i] = params.data[i]! * 3 + rng.normal() * 0.1;
    const grads = new ModelTensors(tiny, Float64Array);
    const batch = 2;
    const trainer = new Trainer(tiny, batch, tiny.contextSize, Float64Array);
    const n = batch * tiny.contextSize;
    const tokens = Int32Array.from({ length: n }, () => rng.int(tiny.vocabSize));
    const targets = Int32Array.from({ length: n }, (_, i) => (i === 3 ? -1 : rng.int(tiny.vocabSize)));

    trainer.forward(params, tokens, targets);
    trainer.backward(params, grads);

    const h = 1e-5;
    let checked = 0;
    for (const [name, view] of params.byName) {
      const gradView = grads.byName.get(name)!;
      for (let probe = 0; probe < 4; probe++) {
        const i = rng.int(view.length);
        const saved = view[i]!;
        view[i] = saved + h;
        const plus = trainer.forward(params, tokens, targets);
        view[i] = saved - h;
        const minus = trainer.forward(params, tokens, targets);
        view[i] = saved;
        const numeric = (plus - minus) / (2 * h);
        const analytic = gradView[i]!;
        const error = Math.abs(numeric - analytic) / Math.max(1e-6, Math.abs(numeric) + Math.abs(analytic));
        expect(error, `${name}[${i}]: numeric ${numeric}, analytic ${analytic}`).toBeLessThan(1e-5);
        checked++;
      }
    }
    expect(checked).toBe(params.byName.size * 4);
  });

  it("learns: the loss of a fixed batch falls under gradient descent", () => {
    const rng = new Rng(1);
    const params = new ModelTensors(tiny);
    initialize(params, rng);
    const grads = new ModelTensors(tiny);
    const trainer = new Trainer(tiny, 1, tiny.contextSize);
    const tokens = Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const targets = Int32Array.from([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const first = trainer.forward(params, tokens, targets);
    let last = first;
    for (let step = 0; step < 300; step++) {
      trainer.backward(params, grads);
      for (let i = 0; i < params.data.length; i++) params.data[i] = params.data[i]! - 0.3 * grads.data[i]!;
      last = trainer.forward(params, tokens, targets);
    }
    expect(first).toBeGreaterThan(Math.log(tiny.vocabSize) - 0.5);
    expect(last).toBeLessThan(0.1);
  });
});
