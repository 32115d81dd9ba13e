import type { Vec } from "./kernels.ts";
import type { ModelTensors } from "./model.ts";

export type AdamWOptions = { beta1: number; beta2: number; eps: number; weightDecay: number };

/** AdamW (decoupled weight decay on matrices only) with global-norm gradient clipping. */
export class AdamW {
  /** First and second moments, and the number of updates so far: the state a checkpoint keeps. */
  readonly m: Float32Array;
  readonly v: Float32Array;
  step = 0;
  private readonly decay: Uint8Array;

  constructor(
    params: ModelTensors,
    private readonly options: AdamWOptions,
  ) {
    this.m = new Float32Array(params.data.length);
    this.v = new Float32Array(params.data.length);
    this.decay = new Uint8Array(params.data.length);
    let offset = 0;
    for (const [name, view] of params.byName) {
      if (params.isMatrix(name)) this.decay.fill(1, offset, offset + view.length);
      offset += view.length;
    }
  }

  /** Clips `grads` to `maxNorm` and applies one update with learning rate `lr`. Returns the norm before clipping. */
  update(params: Vec, grads: Vec, lr: number, maxNorm: number): number {
    let sumSquares = 0;
    for (let i = 0; i < grads.length; i++) sumSquares += grads[i]! * grads[i]!;
    const norm = Math.sqrt(sumSquares);
    const clip = norm > maxNorm ? maxNorm / norm : 1;
    const { beta1, beta2, eps, weightDecay } = this.options;
    this.step++;
    const c1 = 1 - beta1 ** this.step;
    const c2 = 1 - beta2 ** this.step;
    for (let i = 0; i < params.length; i++) {
      const g = grads[i]! * clip;
      const m = (this.m[i] = beta1 * this.m[i]! + (1 - beta1) * g);
      const v = (this.v[i] = beta2 * this.v[i]! + (1 - beta2) * g * g);
      let p = params[i]!;
      if (this.decay[i]) p -= lr * weightDecay * p;
      params[i] = p - (lr * (m / c1)) / (Math.sqrt(v / c2) + eps);
    }
    return norm;
  }
}

/** Linear warmup, then cosine decay to `minRatio`·peak at `totalSteps`. */
export function learningRate(step: number, totalSteps: number, peak: number, warmupSteps: number, minRatio: number): number {
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
}
