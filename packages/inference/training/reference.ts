import { ropeTables } from "./config.ts";
import type { ModelTensors } from "./model.ts";

/**
 * A plain, token-at-a-time implementation of the model's inference (with a KV cache), written
 * for clarity, to check llama.cpp against: same operations in the same order as llama.cpp's
 * `llama` graph, float32 tensors between operations.
 */
export class ReferenceDecoder {
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];
  private readonly rope: { cos: Float64Array; sin: Float64Array };
  private position = 0;

  constructor(private readonly model: ModelTensors) {
    const { layers, contextSize, dim } = model.config;
    this.keys = Array.from({ length: layers }, () => new Float32Array(contextSize * dim));
    this.values = Array.from({ length: layers }, () => new Float32Array(contextSize * dim));
    this.rope = ropeTables(model.config, contextSize);
  }

  reset(): void {
    this.position = 0;
  }

  /** Evaluates `token` at the next position and returns the logits for the token after it. */
  next(token: number): Float32Array {
    const { dim: D, heads: H, ffnDim: F, vocabSize: V, contextSize, normEps } = this.model.config;
    if (this.position >= contextSize) throw new RangeError("context is full");
    const pos = this.position++;
    const hd = D / H;
    const x = Float32Array.from(this.model.embedding.subarray(token * D, token * D + D));
    for (let l = 0; l < this.model.layers.length; l++) {
      const w = this.model.layers[l]!;
      const n1 = rmsNorm(x, w.attnNorm, normEps);
      const q = matVec(w.wq, n1, D, D);
      const k = matVec(w.wk, n1, D, D);
      const v = matVec(w.wv, n1, D, D);
      this.rotate(q, pos);
      this.rotate(k, pos);
      this.keys[l]!.set(k, pos * D);
      this.values[l]!.set(v, pos * D);
      const attn = new Float32Array(D);
      const scale = 1 / Math.sqrt(hd);
      for (let h = 0; h < H; h++) {
        const scores = new Float64Array(pos + 1);
        for (let s = 0; s <= pos; s++) {
          let dot = 0;
          for (let j = 0; j < hd; j++) dot += q[h * hd + j]! * this.keys[l]![s * D + h * hd + j]!;
          scores[s] = Math.fround(dot) * scale;
        }
        const probs = softmax(scores);
        for (let j = 0; j < hd; j++) {
          let sum = 0;
          for (let s = 0; s <= pos; s++) sum += probs[s]! * this.values[l]![s * D + h * hd + j]!;
          attn[h * hd + j] = sum;
        }
      }
      const projected = matVec(w.wo, attn, D, D);
      for (let d = 0; d < D; d++) x[d] = x[d]! + projected[d]!;
      const n2 = rmsNorm(x, w.ffnNorm, normEps);
      const gate = matVec(w.wGate, n2, F, D);
      const up = matVec(w.wUp, n2, F, D);
      const act = new Float32Array(F);
      for (let i = 0; i < F; i++) act[i] = (gate[i]! / (1 + Math.exp(-gate[i]!))) * up[i]!;
      const down = matVec(w.wDown, act, D, F);
      for (let d = 0; d < D; d++) x[d] = x[d]! + down[d]!;
    }
    return matVec(this.model.output, rmsNorm(x, this.model.outputNorm, normEps), V, D);
  }

  /** Greedy decoding: the most likely token each step, until `isEnd(token)` or `maxTokens`. */
  greedy(prompt: readonly number[], maxTokens: number, isEnd: (token: number) => boolean): number[] {
    this.reset();
    let logits: Float32Array = new Float32Array(0);
    for (const token of prompt) logits = this.next(token);
    const out: number[] = [];
    while (out.length < maxTokens) {
      const token = argmax(logits);
      out.push(token);
      if (isEnd(token) || this.position >= this.model.config.contextSize) break;
      logits = this.next(token);
    }
    return out;
  }

  private rotate(x: Float32Array, pos: number): void {
    const { dim: D, heads: H } = this.model.config;
    const pairs = D / H / 2;
    for (let h = 0; h < H; h++) {
      for (let j = 0; j < pairs; j++) {
        const c = this.rope.cos[pos * pairs + j]!;
        const s = this.rope.sin[pos * pairs + j]!;
        const i = h * 2 * pairs + 2 * j;
        const x0 = x[i]!;
        const x1 = x[i + 1]!;
        x[i] = x0 * c - x1 * s;
        x[i + 1] = x0 * s + x1 * c;
      }
    }
  }
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

function matVec(w: ArrayLike<number>, x: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += w[r * cols + c]! * x[c]!;
    y[r] = sum;
  }
  return y;
}

function rmsNorm(x: ArrayLike<number>, gain: ArrayLike<number>, eps: number): Float32Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i]! * x[i]!;
  const scale = Math.fround(1 / Math.sqrt(ss / x.length + eps));
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = Math.fround(x[i]! * scale) * gain[i]!;
  return y;
}

function softmax(scores: Float64Array): Float64Array {
  let max = -Infinity;
  for (const s of scores) max = Math.max(max, s);
  const out = new Float64Array(scores.length);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += out[i] = Math.exp(scores[i]! - max);
  for (let i = 0; i < scores.length; i++) out[i] = out[i]! / sum;
  return out;
}
