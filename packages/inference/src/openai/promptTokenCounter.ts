import type { ChatRequest } from "../types.ts";

export type PromptTokenCounter = (request: ChatRequest) => Promise<number | undefined>;

/**
 * Asks the server's `/tokenize` endpoint how many tokens a chat prompt is once templated (vLLM's
 * `{ model, messages, add_generation_prompt }` → `{ count }`): the exact prompt count of a stream
 * aborted before the server reported usage. A server without such an endpoint, or one that
 * answers in another shape (llama.cpp's `/tokenize` takes raw `content`), is asked once only.
 * Never throws: no answer is `undefined`.
 */
export function createPromptTokenCounter(parameters: {
  url: string;
  model: string;
  apiKey?: string | undefined;
  fetch: typeof globalThis.fetch;
  timeoutMs: number;
}): PromptTokenCounter {
  let unsupported = false;
  return async (request) => {
    if (unsupported) return undefined;
    try {
      const response = await parameters.fetch(parameters.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(parameters.apiKey ? { authorization: `Bearer ${parameters.apiKey}` } : {}) },
        body: JSON.stringify({
          model: parameters.model,
          messages: request.messages.map(({ role, content }) => ({ role, content })),
          add_generation_prompt: true,
        }),
        signal: AbortSignal.timeout(parameters.timeoutMs),
      });
      if (!response.ok) {
        // Missing or refusing the request's shape: it will not answer later either. (5xx may.)
        if (response.status < 500) unsupported = true;
        await response.body?.cancel();
        return undefined;
      }
      const { count } = (await response.json()) as { count?: unknown };
      if (typeof count === "number" && Number.isSafeInteger(count) && count >= 0) return count;
      unsupported = true;
      return undefined;
    } catch {
      return undefined;
    }
  };
}

/** `/tokenize` beside the API's version path: `http://host:8000/v1` → `http://host:8000/tokenize`. */
export function defaultTokenizeUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "")}/tokenize`;
}
