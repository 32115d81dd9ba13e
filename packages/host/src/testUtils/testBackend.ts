/**
 * TEST DOUBLE — not a model. A deterministic ChatBackend for the host's tests: it "generates" the
 * words of Genesis 1:1-3 (one token per word), counts prompt tokens as ⌈bytes/4⌉ + 2 per message,
 * honours `maxTokens` and the abort signal, and can pause between tokens or fail on demand.
 */
import { GenerationError, type ChatBackend, type ChatRequest, type GenerateResult, type StreamPart } from "@session-jobs/inference";

const words = (
  "In the beginning God created the heaven and the earth . And the earth was without form , and void ; and darkness was upon the face of the deep . " +
  "And the Spirit of God moved upon the face of the waters . And God said , Let there be light : and there was light ."
).split(" ");

export type TestBackendBehaviour = {
  /** Pause before each token, in milliseconds. */
  tokenDelayMs: number;
  /** Emit an error part after this many tokens (undefined: never). */
  failAfterTokens: number | undefined;
  /** Completion tokens when the request names no `maxTokens`. */
  defaultTokens: number;
  /**
   * How a generation stopped by its signal ends: a `finish` with usage (the embedded model), or
   * an `error` part with none (an OpenAI-compatible server cut off mid-stream).
   */
  abortEndsWith: "finish" | "error";
  /** Ignore `maxTokens` and stream forever (a broken upstream). */
  endless: boolean;
};

export type TestBackend = ChatBackend & {
  behaviour: TestBackendBehaviour;
  /** Requests received, in order. */
  requests: ChatRequest[];
  /** How many generations ended because their signal aborted. */
  aborted: number;
};

export function testPromptTokens(request: ChatRequest): number {
  return request.messages.reduce((sum, message) => sum + Math.ceil(Buffer.byteLength(message.content) / 4) + 2, 0);
}

export function createTestBackend(behaviour: Partial<TestBackendBehaviour> = {}): TestBackend {
  const backend: TestBackend = {
    specificationVersion: "v1",
    provider: "test-double",
    modelId: "test-genesis",
    behaviour: { tokenDelayMs: 0, failAfterTokens: undefined, defaultTokens: 16, abortEndsWith: "finish", endless: false, ...behaviour },
    requests: [],
    aborted: 0,

    async generate(request, options = {}): Promise<GenerateResult> {
      let text = "";
      for await (const part of backend.stream(request, options)) {
        if (part.type === "text-delta") text += part.text;
        else if (part.type === "error") throw part.error;
        else return { text, finishReason: part.finishReason, usage: part.usage };
      }
      throw new Error("unreachable: stream ended without finish");
    },

    async *stream(request, options = {}): AsyncIterable<StreamPart> {
      backend.requests.push(request);
      const promptTokens = testPromptTokens(request);
      const limit = request.maxTokens ?? backend.behaviour.defaultTokens;
      const start = request.messages.reduce((sum, message) => sum + message.content.length, 0) % words.length;
      let completionTokens = 0;
      while (completionTokens < limit || backend.behaviour.endless) {
        if (backend.behaviour.tokenDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, backend.behaviour.tokenDelayMs));
        if (options.signal?.aborted) {
          backend.aborted += 1;
          yield backend.behaviour.abortEndsWith === "finish"
            ? { type: "finish", finishReason: "abort", usage: { promptTokens, completionTokens } }
            : { type: "error", error: new GenerationError(new Error("upstream stream aborted before its usage")) };
          return;
        }
        if (backend.behaviour.failAfterTokens !== undefined && completionTokens >= backend.behaviour.failAfterTokens) {
          yield { type: "error", error: new GenerationError(new Error("test double told to fail")) };
          return;
        }
        const word = words[(start + completionTokens) % words.length]!;
        completionTokens += 1;
        yield { type: "text-delta", text: completionTokens === 1 ? word : ` ${word}` };
      }
      yield { type: "finish", finishReason: "length", usage: { promptTokens, completionTokens } };
    },

    async close() {},
  };
  return backend;
}
