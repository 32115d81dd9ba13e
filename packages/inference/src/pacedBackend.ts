import type { ChatBackend } from "./types.ts";

/**
 * A backend whose streamed deltas each wait `delayMs` (a number, or read again at every delta).
 * The embedded model writes hundreds of tokens a second: a whole answer can reach a client before
 * it has read a few deltas. Tests pace it to stop or break off a stream mid-answer deterministically.
 */
export function pacedBackend(inner: ChatBackend, delayMs: number | (() => number)): ChatBackend {
  const delay = typeof delayMs === "number" ? () => delayMs : delayMs;
  return {
    specificationVersion: inner.specificationVersion,
    provider: inner.provider,
    modelId: inner.modelId,
    generate: (request, options) => inner.generate(request, options),
    async *stream(request, options) {
      for await (const part of inner.stream(request, options)) {
        const ms = delay();
        if (part.type === "text-delta" && ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
        yield part;
      }
    },
    close: () => inner.close(),
  };
}
