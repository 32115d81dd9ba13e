import { chatTemplateJinja } from "../src/chatTemplate.ts";
import { tensorSpecs, type ModelConfig } from "./config.ts";
import { readGguf, writeGguf, type MetadataValue } from "./gguf.ts";
import { ModelTensors } from "./model.ts";
import { Tokenizer, type VocabEntry } from "./tokenizer.ts";

/**
 * GGUF metadata of our model: the `llama` architecture, and a SentencePiece-style ("llama")
 * vocabulary of subword pieces with byte fallback that llama.cpp tokenizes exactly as
 * {@link Tokenizer.encode} does.
 */
export function modelMetadata(config: ModelConfig, name: string, tokenizer: Tokenizer): Array<[string, MetadataValue]> {
  const { vocabulary, templateTokenIds } = tokenizer;
  if (config.vocabSize !== vocabulary.length) throw new Error(`vocabSize ${config.vocabSize} ≠ vocabulary ${vocabulary.length}`);
  const u32 = (value: number): MetadataValue => ({ type: "uint32", value });
  return [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: name }],
    ["general.file_type", u32(0)],
    ["llama.vocab_size", u32(config.vocabSize)],
    ["llama.context_length", u32(config.contextSize)],
    ["llama.embedding_length", u32(config.dim)],
    ["llama.block_count", u32(config.layers)],
    ["llama.feed_forward_length", u32(config.ffnDim)],
    ["llama.attention.head_count", u32(config.heads)],
    ["llama.attention.head_count_kv", u32(config.heads)],
    ["llama.attention.layer_norm_rms_epsilon", { type: "float32", value: config.normEps }],
    ["llama.rope.dimension_count", u32(config.dim / config.heads)],
    ["llama.rope.freq_base", { type: "float32", value: config.ropeBase }],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "string[]", value: vocabulary.map((entry) => entry.text) }],
    ["tokenizer.ggml.scores", { type: "float32[]", value: vocabulary.map((entry) => entry.score) }],
    ["tokenizer.ggml.token_type", { type: "int32[]", value: vocabulary.map((entry) => entry.type) }],
    ["tokenizer.ggml.bos_token_id", u32(templateTokenIds.beginning)],
    ["tokenizer.ggml.eos_token_id", u32(templateTokenIds.endOfTurn)],
    ["tokenizer.ggml.unknown_token_id", u32(tokenizer.unknownTokenId)],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: false }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    ["tokenizer.ggml.add_space_prefix", { type: "bool", value: false }],
    ["tokenizer.chat_template", { type: "string", value: chatTemplateJinja }],
  ];
}

export function modelToGguf(tensors: ModelTensors, name: string, tokenizer: Tokenizer): Uint8Array {
  const list = tensorSpecs(tensors.config).map((spec) => ({
    name: spec.name,
    shape: spec.shape,
    data: Float32Array.from(tensors.byName.get(spec.name)!),
  }));
  return writeGguf(modelMetadata(tensors.config, name, tokenizer), list);
}

/** Loads a GGUF written by {@link modelToGguf} into float32 tensors. */
export function ggufToModel(bytes: Uint8Array): ModelTensors {
  const { metadata, tensors } = readGguf(bytes);
  const num = (key: string) => {
    const value = metadata.get(key);
    if (typeof value !== "number") throw new Error(`GGUF metadata ${key} is missing`);
    return value;
  };
  const config: ModelConfig = {
    vocabSize: num("llama.vocab_size"),
    dim: num("llama.embedding_length"),
    layers: num("llama.block_count"),
    heads: num("llama.attention.head_count"),
    ffnDim: num("llama.feed_forward_length"),
    contextSize: num("llama.context_length"),
    ropeBase: num("llama.rope.freq_base"),
    normEps: num("llama.attention.layer_norm_rms_epsilon"),
  };
  const model = new ModelTensors(config);
  for (const [name, view] of model.byName) {
    const tensor = tensors.get(name);
    if (!tensor || tensor.data.length !== view.length) throw new Error(`GGUF tensor ${name} is missing or misshapen`);
    view.set(tensor.data);
  }
  return model;
}

/** The tokenizer written into a GGUF by {@link modelToGguf}. */
export function ggufToTokenizer(bytes: Uint8Array): Tokenizer {
  const { metadata } = readGguf(bytes);
  const texts = metadata.get("tokenizer.ggml.tokens") as string[] | undefined;
  const scores = metadata.get("tokenizer.ggml.scores") as number[] | undefined;
  const types = metadata.get("tokenizer.ggml.token_type") as number[] | undefined;
  if (!texts || !scores || !types) throw new Error("GGUF tokenizer metadata is missing");
  return new Tokenizer(texts.map((text, i): VocabEntry => ({ text, type: types[i]!, score: scores[i]! })));
}
