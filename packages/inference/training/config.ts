/** Shape of a LLaMA-architecture model, named as in GGUF's `llama.*` keys. */
export type ModelConfig = {
  vocabSize: number;
  /** `llama.embedding_length` */
  dim: number;
  /** `llama.block_count` */
  layers: number;
  /** `llama.attention.head_count` (= head_count_kv: no grouped-query attention) */
  heads: number;
  /** `llama.feed_forward_length`: hidden width of the SwiGLU block */
  ffnDim: number;
  /** `llama.context_length`: the sequence length trained on */
  contextSize: number;
  /** `llama.rope.freq_base` */
  ropeBase: number;
  /** `llama.attention.layer_norm_rms_epsilon` */
  normEps: number;
};

export type TensorSpec = { name: string; shape: readonly number[] };

/**
 * The model's tensors in GGUF naming and order. `shape` is row-major (outermost first), so a
 * linear layer's weight is [out, in] and `y = W·x`; GGUF lists the same dims innermost first.
 */
export function tensorSpecs(config: ModelConfig): TensorSpec[] {
  const { vocabSize: V, dim: D, ffnDim: F } = config;
  const specs: TensorSpec[] = [{ name: "token_embd.weight", shape: [V, D] }];
  for (let l = 0; l < config.layers; l++) {
    specs.push(
      { name: `blk.${l}.attn_norm.weight`, shape: [D] },
      { name: `blk.${l}.attn_q.weight`, shape: [D, D] },
      { name: `blk.${l}.attn_k.weight`, shape: [D, D] },
      { name: `blk.${l}.attn_v.weight`, shape: [D, D] },
      { name: `blk.${l}.attn_output.weight`, shape: [D, D] },
      { name: `blk.${l}.ffn_norm.weight`, shape: [D] },
      { name: `blk.${l}.ffn_gate.weight`, shape: [F, D] },
      { name: `blk.${l}.ffn_up.weight`, shape: [F, D] },
      { name: `blk.${l}.ffn_down.weight`, shape: [D, F] },
    );
  }
  specs.push({ name: "output_norm.weight", shape: [D] }, { name: "output.weight", shape: [V, D] });
  return specs;
}

export function parameterCount(config: ModelConfig): number {
  return tensorSpecs(config).reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * RoPE angles as llama.cpp computes them (`ggml_rope`, mode 0: rotate adjacent pairs), in float32
 * like its `theta *= theta_scale` loop, so the reference and llama.cpp rotate identically.
 * Returns cos and sin tables of [position][pair].
 */
export function ropeTables(config: ModelConfig, positions: number): { cos: Float64Array; sin: Float64Array } {
  const headDim = config.dim / config.heads;
  const pairs = headDim / 2;
  const thetaScale = Math.fround(Math.pow(config.ropeBase, -2 / headDim));
  const cos = new Float64Array(positions * pairs);
  const sin = new Float64Array(positions * pairs);
  for (let p = 0; p < positions; p++) {
    let theta = Math.fround(p);
    for (let i = 0; i < pairs; i++) {
      cos[p * pairs + i] = Math.fround(Math.cos(theta));
      sin[p * pairs + i] = Math.fround(Math.sin(theta));
      theta = Math.fround(theta * thetaScale);
    }
  }
  return { cos, sin };
}
