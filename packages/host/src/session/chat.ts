import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { InferenceError, MissingUsageError, pushStream, type ChatBackend, type FinishReason, type StreamPart, type Usage } from "@session-jobs/inference";
import { sessionEndpoints, type SessionUsage } from "@session-jobs/protocol";
import { estimatePromptTokens, parseChatRequest, uncountedPromptTokens, type ParsedChatRequest } from "../http/chatRequest.ts";
import type { Common } from "../common.ts";
import { createAnswerSink } from "./answerSink.ts";
import { createCompletionChunks } from "./completionChunks.ts";
import type { HostConfig } from "../config/config.ts";
import { HostError } from "../errors.ts";
import { parseJsonBody, sendJson, startSse, watchClient, type SseWriter } from "../http/httpIo.ts";
import { parseSessionHeaders, type ExchangeLease, type SessionProtocol } from "./sessionProtocol.ts";

export type CreateChatHandlerParameters = {
  common: Common;
  backend: ChatBackend;
  protocol: SessionProtocol;
  limits: HostConfig["limits"];
  /** Aborts every generation (node shutdown after the grace period). */
  stopGenerations: AbortSignal;
};

/**
 * `POST /v1/chat/completions`: checks the session, runs one exchange on the backend (streamed as
 * OpenAI `chat.completion.chunk` events or answered as one `chat.completion`), bills the
 * backend's own token counts and adds the `session` object the client signs a receipt for.
 * A client that leaves stops the generation; it pays only for the deltas written to its socket
 * ({@link createAnswerSink}).
 */
export function createChatHandler(parameters: CreateChatHandlerParameters) {
  const { common, backend, protocol, limits } = parameters;

  return async function handleChat(request: IncomingMessage, response: ServerResponse, body: Uint8Array): Promise<void> {
    const parsed = parseChatRequest(parseJsonBody(request, body), limits);
    if (parsed.model !== undefined && parsed.model !== backend.modelId) {
      common.metrics.requestsRefused.inc({ code: "model_not_served" });
      throw new HostError("model_not_served", `model ${parsed.model} is not served here; this host serves ${backend.modelId}`);
    }
    const authenticated = await protocol.authenticate(parseSessionHeaders(request.headers, sessionEndpoints.chat, body));
    const clientGone = watchClient(response);
    const lease = await protocol.beginExchange(authenticated, {
      promptTokensEstimate: estimatePromptTokens(parsed.request, limits.promptTokensPerMessage),
      maxTokens: parsed.request.maxTokens,
      stop: parsed.request.stop,
    });
    const signal = AbortSignal.any([clientGone, parameters.stopGenerations, lease.ended]);
    common.metrics.generationsActive.inc();
    try {
      const exchange = { body, parsed, lease, clientGone, signal, response };
      if (parsed.stream) await streamCompletion(exchange);
      else await plainCompletion(exchange);
    } finally {
      common.metrics.generationsActive.dec();
      lease.release();
    }
  };

  type Exchange = {
    body: Uint8Array;
    parsed: ParsedChatRequest;
    lease: ExchangeLease;
    clientGone: AbortSignal;
    signal: AbortSignal;
    response: ServerResponse;
  };

  async function plainCompletion({ body, parsed, lease, clientGone, signal, response }: Exchange): Promise<void> {
    let result;
    try {
      result = await backend.generate(parsed.request, { signal });
    } catch (error) {
      throw toHostError(error);
    }
    if (clientGone.aborted) {
      // Nothing reached the client, so nothing is billed.
      common.metrics.generationsAborted.inc();
      return;
    }
    // The session was settled on chain meanwhile: its deposit pays for nothing more.
    if (lease.ended.aborted) throw lease.ended.reason;
    const session = await lease.complete({ requestBody: body, responseText: result.text, ...result.usage, aborted: false });
    const id = completionId();
    sendJson(response, 200, {
      id,
      object: "chat.completion",
      created: nowSeconds(),
      model: backend.modelId,
      choices: [{ index: 0, message: { role: "assistant", content: result.text }, logprobs: null, finish_reason: openAiFinishReason(result.finishReason) }],
      usage: openAiUsage(session),
      session,
    });
  }

  async function streamCompletion({ body, parsed, lease, clientGone, signal, response }: Exchange): Promise<void> {
    const { chunk, delta, content } = createCompletionChunks({ id: completionId(), created: nowSeconds(), model: backend.modelId });

    let sse: SseWriter | undefined;
    const open = () => {
      sse = startSse(response, clientGone);
      sse.send(delta({ role: "assistant", content: "" }));
      return sse;
    };
    const sink = createAnswerSink({ sse: () => sse ?? open(), encode: content, maxDeltas: parsed.request.maxTokens, stopOn: [clientGone, lease.ended] });
    const end = await pushStream(backend, parsed.request, sink, { signal });
    if (sink.overflowed) {
      // Each delta carries at least one token: a backend past max_tokens is broken, and is not
      // relayed without end. Like any failed exchange, it is not billed.
      await sse!.write(JSON.stringify(new HostError("backend_error", `the model sent more than max_tokens (${parsed.request.maxTokens}) deltas`).toJSON()));
      sse!.close();
      return;
    }
    let finish: Extract<StreamPart, { type: "finish" }> | undefined;
    /** An upstream stopped before reporting usage may still have counted the prompt (its `/tokenize`). */
    let countedPrompt: number | undefined;
    if (end?.type === "error") {
      // The client left and the backend failed because it was stopped (an upstream server
      // aborted mid-stream reports no usage): that is an abort, billed for what was written.
      if (clientGone.aborted || lease.ended.aborted) {
        if (end.error instanceof MissingUsageError) countedPrompt = end.error.promptTokens;
      } else {
        // An exchange that fails is not billed and not part of the transcript.
        if (!sse) throw toHostError(end.error);
        await sse.write(JSON.stringify(toHostError(end.error).toJSON()));
        sse.close();
        return;
      }
    } else finish = end;

    if (clientGone.aborted) {
      common.metrics.generationsAborted.inc();
      if (sink.deltas > 0) {
        // Bill only what was sent: never more completion tokens than deltas written (each delta
        // carries at least one token). The prompt was evaluated: as the backend counted it, else as
        // the upstream's tokenizer counts it, else at the documented bound (UTF-8 bytes plus
        // limits.promptTokensPerMessage per message, assistant messages at their overhead alone),
        // which the deposit check reserved and every client's count check accepts.
        await lease.complete({
          requestBody: body,
          responseText: sink.text,
          promptTokens: finish?.usage.promptTokens ?? countedPrompt ?? uncountedPromptTokens(parsed.request, limits.promptTokensPerMessage),
          completionTokens: Math.min(finish?.usage.completionTokens ?? sink.deltas, sink.deltas),
          aborted: true,
        });
      }
      sse?.close();
      return;
    }
    if (lease.ended.aborted) {
      // Settled on chain mid-answer: not a token more, and nothing billed to a deposit already paid out.
      common.metrics.generationsAborted.inc();
      const error = lease.ended.reason as HostError;
      if (!sse) throw error;
      await sse.write(JSON.stringify(error.toJSON()));
      sse.close();
      return;
    }
    if (!finish) {
      const error = new HostError("backend_error", "the model's stream ended without a finish");
      if (!sse) throw error;
      await sse.write(JSON.stringify(error.toJSON()));
      sse.close();
      return;
    }

    const writer = sse ?? open();
    const session: SessionUsage = await lease.complete({ requestBody: body, responseText: sink.text, ...finish.usage, aborted: false });
    await writer.write(delta({}, openAiFinishReason(finish.finishReason)));
    // Usage travels in the last chunk whether or not `stream_options.include_usage` asked for it:
    // it sits beside the `session` object the client must read anyway, and OpenAI clients accept it.
    await writer.write(chunk({ choices: [], usage: openAiUsage(session), session }));
    await writer.write("[DONE]");
    writer.close();
  }
}

function toHostError(error: unknown): HostError {
  if (error instanceof HostError) return error;
  if (error instanceof InferenceError) {
    if (error.code === "invalid_request" || error.code === "context_overflow") return new HostError("invalid_request", error.shortMessage, { cause: error });
    return new HostError("backend_error", error.shortMessage, { cause: error, status: error.retryable ? 503 : 502 });
  }
  return new HostError("backend_error", "the model failed", { cause: error });
}

function openAiFinishReason(reason: FinishReason): "stop" | "length" {
  // An abort here is the node shutting down mid-answer: the answer was cut short.
  return reason === "stop" ? "stop" : "length";
}

function openAiUsage(usage: Usage) {
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens };
}

function completionId(): string {
  return `chatcmpl-${randomUUID().replace(/-/g, "")}`;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
