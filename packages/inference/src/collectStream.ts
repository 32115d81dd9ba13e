import { GenerationError } from "./errors.ts";
import type { GenerateResult, StreamPart } from "./types.ts";

/** `generate` in terms of `stream`: concatenates the deltas; rethrows an `error` part. */
export async function collectStream(parts: AsyncIterable<StreamPart>): Promise<GenerateResult> {
  let text = "";
  for await (const part of parts) {
    if (part.type === "text-delta") text += part.text;
    else if (part.type === "error") throw part.error;
    else return { text, finishReason: part.finishReason, usage: part.usage };
  }
  throw new GenerationError(new Error("the stream ended without a finish part"));
}
