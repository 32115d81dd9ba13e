import { stringToBytes } from "viem";

/**
 * The most completion tokens an answer's text can be billed for: its UTF-8 bytes plus one end
 * marker and the longest stop sequence (generated and billed, as OpenAI and vLLM do, but cut from
 * the text); no tokenizer makes more tokens than bytes. The SDK refuses to sign above it and the
 * host never bills above it, so both sides must compute it alike: here, once.
 */
export function completionTokenBound(responseText: string, stop: unknown): number {
  const sequences = typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop.filter((item): item is string => typeof item === "string") : [];
  return stringToBytes(responseText).length + 1 + Math.max(0, ...sequences.map((sequence) => stringToBytes(sequence).length));
}
