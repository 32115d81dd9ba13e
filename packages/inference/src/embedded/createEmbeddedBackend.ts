import { basename } from "node:path";
import { getLlama, LlamaLogLevel, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { buildPrompt, chatTemplateTokenTexts, type ChatTemplateTokenIds } from "../chatTemplate.ts";
import { collectStream } from "../collectStream.ts";
import { ConcurrencyLimit } from "../concurrencyLimit.ts";
import { BackendClosedError, GenerationError, InferenceError, InvalidRequestError, ModelLoadError, UnsupportedModelError } from "../errors.ts";
import { StopSequenceFilter } from "../stopSequences.ts";
import type { CallOptions, ChatBackend, ChatRequest, FinishReason, StreamPart } from "../types.ts";
import { validateRequest } from "../validateRequest.ts";
import { embeddedModelInfo } from "./embeddedModelInfo.ts";

export type CreateEmbeddedBackendParameters = {
  /** GGUF file with our chat template's control tokens. Default: the model in this repository. */
  modelPath?: string;
  /** Name served in `/v1/models`. Default: {@link embeddedModelInfo.name} for our model, else the file name. */
  modelId?: string;
  /**
   * CPU threads for evaluation. Default 1: llama.cpp's own default oversubscribes small
   * machines (4 threads on 2 cores ran 1,000× slower), and one thread runs a tiny model at
   * thousands of tokens per second.
   */
  threads?: number;
  /** Tokens per sequence (prompt + completion). Default: what the model was trained on. */
  contextSize?: number;
  /** Requests generated at once, each in its own sequence of one shared context; more wait in line. Default 4. */
  maxConcurrent?: number;
  /** What to do with a conversation that does not fit: drop its oldest turns (default) or fail. */
  contextOverflow?: "truncate" | "error";
};

/**
 * A {@link ChatBackend} that runs a GGUF model in process on the CPU through node-llama-cpp's
 * prebuilt llama.cpp (nothing is downloaded or compiled). Token counts come from the model's own
 * tokenizer: the prompt tokens evaluated and every token sampled.
 *
 * @example
 * const backend = await createEmbeddedBackend();
 * const { text, usage } = await backend.generate({ messages: [{ role: "user", content: "John 3:16" }], maxTokens: 64 });
 * await backend.close();
 */
export async function createEmbeddedBackend(parameters: CreateEmbeddedBackendParameters = {}): Promise<ChatBackend> {
  const modelPath = parameters.modelPath ?? embeddedModelInfo.path;
  const threads = parameters.threads ?? 1;
  const maxConcurrent = parameters.maxConcurrent ?? 4;
  if (!Number.isInteger(threads) || threads < 1) throw new InvalidRequestError("`threads` must be a positive integer.");
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new InvalidRequestError("`maxConcurrent` must be a positive integer.");

  const llama = await getLlama({
    gpu: false,
    build: "never",
    skipDownload: true,
    progressLogs: false,
    maxThreads: threads,
    logLevel: LlamaLogLevel.error,
  });
  let model: LlamaModel;
  let context: LlamaContext;
  let ids: ChatTemplateTokenIds;
  try {
    model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  } catch (cause) {
    await llama.dispose();
    throw new ModelLoadError(modelPath, cause);
  }
  try {
    ids = templateTokenIds(model);
    const contextSize = parameters.contextSize ?? model.trainContextSize;
    context = await model.createContext({ contextSize, sequences: maxConcurrent, threads, flashAttention: false });
  } catch (cause) {
    await llama.dispose();
    if (cause instanceof InferenceError) throw cause;
    throw new ModelLoadError(modelPath, cause);
  }

  // llama.cpp may round the context up; never run past what the model was trained on.
  const contextSize = Math.min(context.contextSize, parameters.contextSize ?? model.trainContextSize);
  const sequences: LlamaContextSequence[] = [];
  const limit = new ConcurrencyLimit(maxConcurrent);
  const closing = new AbortController();
  // Native calls in progress: close() waits for them (a stream paused by its reader holds none).
  const inFlight = new Set<Promise<unknown>>();
  const native = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    const forget = () => inFlight.delete(work);
    work.then(forget, forget);
    return work;
  };
  const overflow = parameters.contextOverflow ?? "truncate";
  const isEndOfTurn = (token: Token) => model.isSpecialToken(token) || model.isEogToken(token);

  async function* generateParts(request: ChatRequest, signal: AbortSignal): AsyncGenerator<StreamPart> {
    validateRequest(request);
    if (closing.signal.aborted) throw new BackendClosedError();
    const maxTokens = request.maxTokens ?? Number.POSITIVE_INFINITY;
    const reserve = Math.max(1, Math.min(maxTokens, Math.floor(contextSize / 2)));
    const prompt = buildPrompt({
      messages: request.messages,
      ids,
      tokenize: (text) => model.tokenize(text, false),
      maxPromptTokens: contextSize - reserve,
      overflow,
      contextSize,
    }).tokens;

    const release = await limit.acquire(signal);
    if (!release) {
      yield { type: "finish", finishReason: "abort", usage: { promptTokens: 0, completionTokens: 0 } };
      return;
    }
    const sequence = sequences.pop() ?? context.getSequence();
    let tokens: AsyncGenerator<Token, void, void | Token | Token[]> | undefined;
    try {
      await native(sequence.clearHistory());
      // OpenAI semantics: plain temperature sampling (top-p only if asked), greedy at 0.
      tokens = sequence.evaluate(prompt as Token[], {
        temperature: request.temperature ?? 1,
        topP: request.topP ?? 1,
        topK: 0,
        minP: 0,
        ...(request.seed === undefined ? {} : { seed: request.seed }),
        yieldEogToken: true,
      });
      const completionLimit = Math.min(maxTokens, contextSize - prompt.length);
      const stops = new StopSequenceFilter(request.stop);
      const generated: Token[] = [];
      let delivered = 0; // characters of the decoded completion already handled
      let completionTokens = 0;
      let finishReason: FinishReason = "length";
      let stoppedBySequence = false;
      while (completionTokens < completionLimit) {
        const next = await native(tokens.next());
        if (next.done) throw new Error("llama.cpp stopped generating unexpectedly");
        completionTokens++;
        if (isEndOfTurn(next.value)) {
          finishReason = "stop";
          break;
        }
        generated.push(next.value);
        // Decode the whole completion: a character may span byte tokens; hold back an incomplete one.
        const text = model.detokenize(generated).replace(/\uFFFD+$/, "");
        const { deliver, stopped } = stops.push(text.slice(delivered));
        delivered = text.length;
        if (deliver) yield { type: "text-delta", text: deliver };
        if (stopped) {
          finishReason = "stop";
          stoppedBySequence = true;
          break;
        }
        if (signal.aborted) {
          finishReason = "abort";
          break;
        }
      }
      if (!stoppedBySequence) {
        // Text held back as a possible stop sequence, and bytes of an unfinished character.
        const tail = stops.flush() + model.detokenize(generated).slice(delivered);
        if (tail) yield { type: "text-delta", text: tail };
      }
      yield { type: "finish", finishReason, usage: { promptTokens: prompt.length, completionTokens } };
    } finally {
      if (tokens) await native(tokens.return()).catch(() => undefined);
      sequences.push(sequence);
      release();
    }
  }

  async function* stream(request: ChatRequest, options: CallOptions = {}): AsyncGenerator<StreamPart> {
    const signal = options.signal ? AbortSignal.any([options.signal, closing.signal]) : closing.signal;
    try {
      yield* generateParts(request, signal);
    } catch (cause) {
      yield { type: "error", error: cause instanceof InferenceError ? cause : new GenerationError(cause) };
    }
  }

  return {
    specificationVersion: "v1",
    provider: "embedded",
    modelId: parameters.modelId ?? (modelPath === embeddedModelInfo.path ? embeddedModelInfo.name : basename(modelPath, ".gguf")),
    generate: (request, options) => collectStream(stream(request, options)),
    stream,
    async close() {
      if (closing.signal.aborted) return;
      closing.abort();
      while (inFlight.size > 0) await Promise.allSettled(inFlight);
      await llama.dispose();
    },
  };
}

/** Ids of the chat template's control tokens in the model's vocabulary, or UnsupportedModelError. */
function templateTokenIds(model: LlamaModel): ChatTemplateTokenIds {
  const entries = Object.entries(chatTemplateTokenTexts).map(([key, text]) => {
    const tokens = model.tokenize(text, true);
    if (tokens.length !== 1 || !model.isSpecialToken(tokens[0])) {
      throw new UnsupportedModelError(`The model has no control token ${text}; it was not trained with this package's chat template.`);
    }
    return [key, tokens[0] as number] as const;
  });
  return Object.fromEntries(entries) as ChatTemplateTokenIds;
}
