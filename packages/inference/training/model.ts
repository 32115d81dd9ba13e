import { ropeTables, tensorSpecs, type ModelConfig } from "./config.ts";
import { Triangle, gemmABt, transpose, type Vec } from "./kernels.ts";
import type { Rng } from "./rng.ts";

type ArrayKind = Float32ArrayConstructor | Float64ArrayConstructor;

type LayerTensors = {
  attnNorm: Vec;
  wq: Vec;
  wk: Vec;
  wv: Vec;
  wo: Vec;
  ffnNorm: Vec;
  wGate: Vec;
  wUp: Vec;
  wDown: Vec;
};

/** All tensors of a model in one flat array (so the optimizer sees one vector), with named views. */
export class ModelTensors {
  readonly data: Vec;
  readonly byName = new Map<string, Vec>();
  readonly embedding: Vec;
  readonly layers: LayerTensors[] = [];
  readonly outputNorm: Vec;
  readonly output: Vec;

  constructor(
    readonly config: ModelConfig,
    kind: ArrayKind = Float32Array,
  ) {
    const specs = tensorSpecs(config);
    const total = specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1), 0);
    this.data = new kind(total);
    let offset = 0;
    for (const spec of specs) {
      const size = spec.shape.reduce((a, b) => a * b, 1);
      this.byName.set(spec.name, this.data.subarray(offset, offset + size));
      offset += size;
    }
    const get = (name: string): Vec => this.byName.get(name)!;
    this.embedding = get("token_embd.weight");
    for (let l = 0; l < config.layers; l++) {
      this.layers.push({
        attnNorm: get(`blk.${l}.attn_norm.weight`),
        wq: get(`blk.${l}.attn_q.weight`),
        wk: get(`blk.${l}.attn_k.weight`),
        wv: get(`blk.${l}.attn_v.weight`),
        wo: get(`blk.${l}.attn_output.weight`),
        ffnNorm: get(`blk.${l}.ffn_norm.weight`),
        wGate: get(`blk.${l}.ffn_gate.weight`),
        wUp: get(`blk.${l}.ffn_up.weight`),
        wDown: get(`blk.${l}.ffn_down.weight`),
      });
    }
    this.outputNorm = get("output_norm.weight");
    this.output = get("output.weight");
  }

  /** Names of the matrices (decayed by AdamW); norm gains are vectors and are not. */
  isMatrix(name: string): boolean {
    return !name.endsWith("norm.weight");
  }
}

/**
 * Initializes weights: norm gains 1, matrices N(0, σ²) with σ = √(2/(5·dim)) (small init), and
 * the projections back into the residual stream scaled by 1/√(2·layers).
 */
export function initialize(tensors: ModelTensors, rng: Rng): void {
  const { dim, layers } = tensors.config;
  const sigma = Math.sqrt(2 / (5 * dim));
  const fill = (v: Vec, std: number) => {
    for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
  };
  for (const [name, v] of tensors.byName) {
    if (!tensors.isMatrix(name)) v.fill(1);
    else if (name.endsWith("attn_output.weight") || name.endsWith("ffn_down.weight")) fill(v, sigma / Math.sqrt(2 * layers));
    else fill(v, sigma);
  }
}

type LayerActivations = {
  input: Vec;
  norm1: Vec;
  invRms1: Vec;
  q: Vec;
  k: Vec;
  v: Vec;
  probs: Vec;
  attn: Vec;
  mid: Vec;
  norm2: Vec;
  invRms2: Vec;
  gate: Vec;
  up: Vec;
  act: Vec;
};

/**
 * Forward and backward pass of the LLaMA architecture as llama.cpp evaluates it (RMSNorm,
 * RoPE on adjacent pairs, causal multi-head attention, SwiGLU, untied output head), for a batch
 * of `batch` sequences of `seqLen` tokens. Buffers are allocated once; activations of the last
 * forward pass are kept for the backward pass.
 */
export class Trainer {
  readonly config: ModelConfig;
  private readonly n: number;
  private readonly headDim: number;
  private readonly rope: { cos: Float64Array; sin: Float64Array };
  private readonly acts: LayerActivations[] = [];
  private readonly finalInput: Vec;
  private readonly finalNorm: Vec;
  private readonly finalInvRms: Vec;
  private readonly probs: Vec;
  private tokens: Int32Array = new Int32Array(0);
  private targets: Int32Array = new Int32Array(0);
  private targetCount = 0;
  // scratch
  private readonly sA: Vec;
  private readonly sB: Vec;
  private readonly dX: Vec;
  private readonly dTmp: Vec;
  private readonly dN: Vec;
  private readonly dQ: Vec;
  private readonly dK: Vec;
  private readonly dV: Vec;
  private readonly dAttn: Vec;
  private readonly dGate: Vec;
  private readonly dUp: Vec;
  private readonly hQ: Vec;
  private readonly hK: Vec;
  private readonly hV: Vec;
  private readonly hO: Vec;
  private readonly hT: Vec;
  private readonly tt1: Vec;
  private readonly tt2: Vec;

  constructor(
    config: ModelConfig,
    readonly batch: number,
    readonly seqLen: number,
    kind: ArrayKind = Float32Array,
  ) {
    this.config = config;
    const { dim: D, ffnDim: F, vocabSize: V, heads: H } = config;
    const N = (this.n = batch * seqLen);
    const T = seqLen;
    this.headDim = D / H;
    this.rope = ropeTables(config, seqLen);
    for (let l = 0; l < config.layers; l++) {
      this.acts.push({
        input: new kind(N * D),
        norm1: new kind(N * D),
        invRms1: new kind(N),
        q: new kind(N * D),
        k: new kind(N * D),
        v: new kind(N * D),
        probs: new kind(batch * H * T * T),
        attn: new kind(N * D),
        mid: new kind(N * D),
        norm2: new kind(N * D),
        invRms2: new kind(N),
        gate: new kind(N * F),
        up: new kind(N * F),
        act: new kind(N * F),
      });
    }
    this.finalInput = new kind(N * D);
    this.finalNorm = new kind(N * D);
    this.finalInvRms = new kind(N);
    this.probs = new kind(N * V);
    const widest = Math.max(D, F, V);
    this.sA = new kind(Math.max(N, widest) * widest);
    this.sB = new kind(Math.max(N, widest) * widest);
    this.dX = new kind(N * D);
    this.dTmp = new kind(N * D);
    this.dN = new kind(N * D);
    this.dQ = new kind(N * D);
    this.dK = new kind(N * D);
    this.dV = new kind(N * D);
    this.dAttn = new kind(N * D);
    this.dGate = new kind(N * F);
    this.dUp = new kind(N * F);
    const hd = this.headDim;
    this.hQ = new kind(T * hd);
    this.hK = new kind(T * hd);
    this.hV = new kind(T * hd);
    this.hO = new kind(T * hd);
    this.hT = new kind(T * hd);
    this.tt1 = new kind(T * T);
    this.tt2 = new kind(T * T);
  }

  /**
   * Runs the model on `tokens` (batch·seqLen ids) and returns the mean cross-entropy (nats) of
   * predicting `targets` (same length; -1 = not scored).
   */
  forward(p: ModelTensors, tokens: Int32Array, targets: Int32Array): number {
    const { dim: D, ffnDim: F, vocabSize: V, normEps } = this.config;
    const N = this.n;
    this.tokens = tokens;
    this.targets = targets;
    const x = this.acts[0]?.input ?? this.finalInput;
    for (let i = 0; i < N; i++) {
      const row = tokens[i]! * D;
      for (let d = 0; d < D; d++) x[i * D + d] = p.embedding[row + d]!;
    }
    for (let l = 0; l < this.config.layers; l++) {
      const a = this.acts[l]!;
      const w = p.layers[l]!;
      rmsNorm(a.input, w.attnNorm, a.norm1, a.invRms1, N, D, normEps);
      gemmABt(a.norm1, 0, w.wq, 0, a.q, 0, N, D, D, false);
      gemmABt(a.norm1, 0, w.wk, 0, a.k, 0, N, D, D, false);
      gemmABt(a.norm1, 0, w.wv, 0, a.v, 0, N, D, D, false);
      this.applyRope(a.q, 1);
      this.applyRope(a.k, 1);
      this.attentionForward(a);
      gemmABt(a.attn, 0, w.wo, 0, a.mid, 0, N, D, D, false);
      for (let i = 0; i < N * D; i++) a.mid[i] = a.mid[i]! + a.input[i]!;
      rmsNorm(a.mid, w.ffnNorm, a.norm2, a.invRms2, N, D, normEps);
      gemmABt(a.norm2, 0, w.wGate, 0, a.gate, 0, N, F, D, false);
      gemmABt(a.norm2, 0, w.wUp, 0, a.up, 0, N, F, D, false);
      for (let i = 0; i < N * F; i++) {
        const g = a.gate[i]!;
        a.act[i] = (g / (1 + Math.exp(-g))) * a.up[i]!;
      }
      const next = l + 1 < this.config.layers ? this.acts[l + 1]!.input : this.finalInput;
      gemmABt(a.act, 0, w.wDown, 0, next, 0, N, D, F, false);
      for (let i = 0; i < N * D; i++) next[i] = next[i]! + a.mid[i]!;
    }
    rmsNorm(this.finalInput, p.outputNorm, this.finalNorm, this.finalInvRms, N, D, normEps);
    gemmABt(this.finalNorm, 0, p.output, 0, this.probs, 0, N, V, D, false);
    let loss = 0;
    let count = 0;
    for (let i = 0; i < N; i++) {
      const o = i * V;
      let max = -Infinity;
      for (let j = 0; j < V; j++) max = Math.max(max, this.probs[o + j]!);
      let sum = 0;
      for (let j = 0; j < V; j++) {
        const e = Math.exp(this.probs[o + j]! - max);
        this.probs[o + j] = e;
        sum += e;
      }
      for (let j = 0; j < V; j++) this.probs[o + j] = this.probs[o + j]! / sum;
      const t = targets[i]!;
      if (t >= 0) {
        loss -= Math.log(Math.max(this.probs[o + t]!, 1e-30));
        count++;
      }
    }
    this.targetCount = count;
    return count === 0 ? 0 : loss / count;
  }

  /** Writes the gradient of the last forward pass's loss into `g` (overwriting it). */
  backward(p: ModelTensors, g: ModelTensors): void {
    const { dim: D, ffnDim: F, vocabSize: V } = this.config;
    const N = this.n;
    g.data.fill(0);
    const dLogits = this.probs; // softmax − onehot, scaled, in place
    const scale = this.targetCount === 0 ? 0 : 1 / this.targetCount;
    for (let i = 0; i < N; i++) {
      const o = i * V;
      const t = this.targets[i]!;
      if (t < 0) {
        for (let j = 0; j < V; j++) dLogits[o + j] = 0;
        continue;
      }
      for (let j = 0; j < V; j++) dLogits[o + j] = dLogits[o + j]! * scale;
      dLogits[o + t] = dLogits[o + t]! - scale;
    }
    this.linearBackward(dLogits, this.finalNorm, p.output, g.output, this.dN, N, V, D);
    rmsNormBackward(this.dN, this.finalInput, p.outputNorm, this.finalInvRms, this.dX, g.outputNorm, N, D, false);

    for (let l = this.config.layers - 1; l >= 0; l--) {
      const a = this.acts[l]!;
      const w = p.layers[l]!;
      const gw = g.layers[l]!;
      // FFN: dX holds d(next input) = d(mid) through the residual, plus the FFN path.
      this.linearBackward(this.dX, a.act, w.wDown, gw.wDown, this.dGate, N, D, F); // dGate := d(act)
      for (let i = 0; i < N * F; i++) {
        const gv = a.gate[i]!;
        const sig = 1 / (1 + Math.exp(-gv));
        const dAct = this.dGate[i]!;
        this.dUp[i] = dAct * gv * sig;
        this.dGate[i] = dAct * a.up[i]! * sig * (1 + gv * (1 - sig));
      }
      transpose(a.norm2, 0, this.sB, 0, N, D);
      this.weightGrad(this.dGate, gw.wGate, N, F, D);
      this.weightGrad(this.dUp, gw.wUp, N, F, D);
      this.inputGrad(this.dGate, w.wGate, this.dN, N, F, D, false);
      this.inputGrad(this.dUp, w.wUp, this.dN, N, F, D, true);
      rmsNormBackward(this.dN, a.mid, w.ffnNorm, a.invRms2, this.dX, gw.ffnNorm, N, D, true);
      // Attention: dX now holds d(mid) = d(input) through the residual, plus the attention path.
      this.linearBackward(this.dX, a.attn, w.wo, gw.wo, this.dAttn, N, D, D);
      this.attentionBackward(a);
      this.applyRope(this.dQ, -1);
      this.applyRope(this.dK, -1);
      transpose(a.norm1, 0, this.sB, 0, N, D);
      this.weightGrad(this.dQ, gw.wq, N, D, D);
      this.weightGrad(this.dK, gw.wk, N, D, D);
      this.weightGrad(this.dV, gw.wv, N, D, D);
      this.inputGrad(this.dQ, w.wq, this.dN, N, D, D, false);
      this.inputGrad(this.dK, w.wk, this.dN, N, D, D, true);
      this.inputGrad(this.dV, w.wv, this.dN, N, D, D, true);
      rmsNormBackward(this.dN, a.input, w.attnNorm, a.invRms1, this.dX, gw.attnNorm, N, D, true);
    }
    for (let i = 0; i < N; i++) {
      const row = this.tokens[i]! * D;
      for (let d = 0; d < D; d++) g.embedding[row + d] = g.embedding[row + d]! + this.dX[i * D + d]!;
    }
  }

  /** Y = X·Wᵀ backward: dW += dYᵀ·X, dX = dY·W. */
  private linearBackward(dY: Vec, X: Vec, W: Vec, dW: Vec, dX: Vec, N: number, out: number, inp: number): void {
    transpose(X, 0, this.sB, 0, N, inp);
    this.weightGrad(dY, dW, N, out, inp);
    this.inputGrad(dY, W, dX, N, out, inp, false);
  }

  /** dW (out×in) += dYᵀ·X, with Xᵀ already in sB. */
  private weightGrad(dY: Vec, dW: Vec, N: number, out: number, inp: number): void {
    transpose(dY, 0, this.sA, 0, N, out);
    gemmABt(this.sA, 0, this.sB, 0, dW, 0, out, inp, N, true);
  }

  /** dX (N×in) (+)= dY·W, W: out×in. Uses the tail of sA for Wᵀ. */
  private inputGrad(dY: Vec, W: Vec, dX: Vec, N: number, out: number, inp: number, accumulate: boolean): void {
    transpose(W, 0, this.sA, 0, out, inp);
    gemmABt(dY, 0, this.sA, 0, dX, 0, N, inp, out, accumulate);
  }

  /** Rotates each head's adjacent pairs by +θ (direction 1) or −θ (direction -1, the backward pass). */
  private applyRope(x: Vec, direction: 1 | -1): void {
    const { dim: D, heads: H } = this.config;
    const T = this.seqLen;
    const pairs = this.headDim / 2;
    for (let i = 0; i < this.n; i++) {
      const pos = i % T;
      for (let h = 0; h < H; h++) {
        const base = i * D + h * this.headDim;
        for (let j = 0; j < pairs; j++) {
          const c = this.rope.cos[pos * pairs + j]!;
          const s = direction * this.rope.sin[pos * pairs + j]!;
          const x0 = x[base + 2 * j]!;
          const x1 = x[base + 2 * j + 1]!;
          x[base + 2 * j] = x0 * c - x1 * s;
          x[base + 2 * j + 1] = x0 * s + x1 * c;
        }
      }
    }
  }

  private gatherHead(src: Vec, dst: Vec, b: number, h: number): void {
    const D = this.config.dim,
      T = this.seqLen,
      hd = this.headDim;
    for (let t = 0; t < T; t++) {
      const s = (b * T + t) * D + h * hd;
      for (let j = 0; j < hd; j++) dst[t * hd + j] = src[s + j]!;
    }
  }

  private scatterHead(src: Vec, dst: Vec, b: number, h: number): void {
    const D = this.config.dim,
      T = this.seqLen,
      hd = this.headDim;
    for (let t = 0; t < T; t++) {
      const s = (b * T + t) * D + h * hd;
      for (let j = 0; j < hd; j++) dst[s + j] = src[t * hd + j]!;
    }
  }

  private attentionForward(a: LayerActivations): void {
    const T = this.seqLen,
      hd = this.headDim,
      H = this.config.heads;
    const scale = 1 / Math.sqrt(hd);
    for (let b = 0; b < this.batch; b++) {
      for (let h = 0; h < H; h++) {
        this.gatherHead(a.q, this.hQ, b, h);
        this.gatherHead(a.k, this.hK, b, h);
        this.gatherHead(a.v, this.hV, b, h);
        const pOff = (b * H + h) * T * T;
        gemmABt(this.hQ, 0, this.hK, 0, a.probs, pOff, T, T, hd, false, Triangle.lowerC);
        for (let t = 0; t < T; t++) {
          const row = pOff + t * T;
          let max = -Infinity;
          for (let s = 0; s <= t; s++) max = Math.max(max, a.probs[row + s]! * scale);
          let sum = 0;
          for (let s = 0; s <= t; s++) {
            const e = Math.exp(a.probs[row + s]! * scale - max);
            a.probs[row + s] = e;
            sum += e;
          }
          for (let s = 0; s <= t; s++) a.probs[row + s] = a.probs[row + s]! / sum;
          for (let s = t + 1; s < T; s++) a.probs[row + s] = 0;
        }
        transpose(this.hV, 0, this.hT, 0, T, hd);
        gemmABt(a.probs, pOff, this.hT, 0, this.hO, 0, T, hd, T, false, Triangle.lowerA);
        this.scatterHead(this.hO, a.attn, b, h);
      }
    }
  }

  /** From dAttn (d of the concatenated heads) to dQ, dK (roped) and dV. */
  private attentionBackward(a: LayerActivations): void {
    const T = this.seqLen,
      hd = this.headDim,
      H = this.config.heads;
    const scale = 1 / Math.sqrt(hd);
    const dP = this.tt1,
      tmp = this.tt2;
    for (let b = 0; b < this.batch; b++) {
      for (let h = 0; h < H; h++) {
        const pOff = (b * H + h) * T * T;
        this.gatherHead(this.dAttn, this.hO, b, h); // dO
        this.gatherHead(a.v, this.hV, b, h);
        gemmABt(this.hO, 0, this.hV, 0, dP, 0, T, T, hd, false, Triangle.lowerC);
        // dV = Pᵀ·dO
        transpose(a.probs, pOff, tmp, 0, T, T);
        transpose(this.hO, 0, this.hT, 0, T, hd);
        gemmABt(tmp, 0, this.hT, 0, this.hV, 0, T, hd, T, false, Triangle.upperA);
        this.scatterHead(this.hV, this.dV, b, h);
        // dS = P ⊙ (dP − Σ P·dP) · scale, written over dP
        for (let t = 0; t < T; t++) {
          const row = pOff + t * T;
          let dot = 0;
          for (let s = 0; s <= t; s++) dot += a.probs[row + s]! * dP[t * T + s]!;
          for (let s = 0; s <= t; s++) dP[t * T + s] = a.probs[row + s]! * (dP[t * T + s]! - dot) * scale;
          for (let s = t + 1; s < T; s++) dP[t * T + s] = 0;
        }
        // dQ = dS·K
        this.gatherHead(a.k, this.hK, b, h);
        transpose(this.hK, 0, this.hT, 0, T, hd);
        gemmABt(dP, 0, this.hT, 0, this.hO, 0, T, hd, T, false, Triangle.lowerA);
        this.scatterHead(this.hO, this.dQ, b, h);
        // dK = dSᵀ·Q
        this.gatherHead(a.q, this.hQ, b, h);
        transpose(dP, 0, tmp, 0, T, T);
        transpose(this.hQ, 0, this.hT, 0, T, hd);
        gemmABt(tmp, 0, this.hT, 0, this.hO, 0, T, hd, T, false, Triangle.upperA);
        this.scatterHead(this.hO, this.dK, b, h);
      }
    }
  }
}

/** y = x / rms(x) · gain, row by row; keeps 1/rms for the backward pass. */
function rmsNorm(x: Vec, gain: Vec, y: Vec, invRms: Vec, N: number, D: number, eps: number): void {
  for (let i = 0; i < N; i++) {
    const o = i * D;
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[o + d]! * x[o + d]!;
    const r = 1 / Math.sqrt(ss / D + eps);
    invRms[i] = r;
    for (let d = 0; d < D; d++) y[o + d] = x[o + d]! * r * gain[d]!;
  }
}

/** Backward of {@link rmsNorm}: dGain += Σ dy·x̂; dx (+)= r·(dx̂ − x̂·mean(dx̂·x̂)) with dx̂ = dy·gain. */
function rmsNormBackward(dy: Vec, x: Vec, gain: Vec, invRms: Vec, dx: Vec, dGain: Vec, N: number, D: number, accumulate: boolean): void {
  for (let i = 0; i < N; i++) {
    const o = i * D;
    const r = invRms[i]!;
    let dot = 0;
    for (let d = 0; d < D; d++) {
      const xh = x[o + d]! * r;
      dGain[d] = dGain[d]! + dy[o + d]! * xh;
      dot += dy[o + d]! * gain[d]! * xh;
    }
    dot /= D;
    for (let d = 0; d < D; d++) {
      const v = r * (dy[o + d]! * gain[d]! - x[o + d]! * r * dot);
      if (accumulate) dx[o + d] = dx[o + d]! + v;
      else dx[o + d] = v;
    }
  }
}
