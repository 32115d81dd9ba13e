import { deltaContent, streamExchange, type ExchangeResult } from "../session/exchange.ts";
import { followSignal } from "../session/signals.ts";
import { receiptDelivery } from "../session/receiptDelivery.ts";
import type { Session } from "../session/types.ts";
import { buildChatRequest, type ChatErrorType, type ChatParameters } from "./chat.ts";

export type StreamChatParameters = ChatParameters;

/**
 * Text deltas as they arrive; the iteration ends once the exchange is accepted (counts and
 * transcript checked, receipt signed), and `result` settles once the receipt's delivery was tried.
 */
export type StreamChatReturnType = AsyncIterable<string> & {
  /**
   * The accepted exchange, once its receipt's delivery was tried (`receipt.delivered`); rejects
   * with the same error the iteration throws, or with the host's refusal of the receipt.
   */
  result: Promise<ExchangeResult>;
};

export type StreamChatErrorType = ChatErrorType;

/**
 * Streams one chat answer through the session (SSE). Iterate it for the text deltas; `result`
 * gives the token counts and the receipt once the host's `session` usage arrived and checked out.
 * Stopping pays only for what the host wrote: leaving the loop early (`break`) or aborting `signal`
 * cancels the request, the host stops generating, `result` rejects, and the next request recovers
 * from the host what it wrote (a sync), checks it and signs for it. Not iterating at all also
 * works: awaiting `result` consumes the stream.
 *
 * The iteration ends as soon as the exchange is accepted, before the receipt reaches the host: a
 * dispute still throws from it, and the session's next request can go out at once, overlapping the
 * delivery (the host decides whether it serves ahead of the receipt; if not, the SDK waits for the
 * delivery and sends again). Await `result` where the receipt must be delivered first.
 *
 * A `maxTokens` (or body `max_tokens`) that is not a positive integer throws
 * `InvalidChatParametersError` from the call itself, before anything is signed or sent.
 *
 * @example
 * const stream = streamChat(session, { messages: [{ role: "user", content: "Tell me a story" }] });
 * for await (const delta of stream) process.stdout.write(delta);
 * const { cumulativeTokens, receipt } = await stream.result;
 */
export function streamChat(session: Session, parameters: StreamChatParameters): StreamChatReturnType {
  // Built before the caller's signal is followed: a refused request leaves no listener on it.
  const request = buildChatRequest(session, parameters, true);
  const stop = new AbortController();
  const unfollow = followSignal(parameters.signal, stop);
  const chunks = streamExchange(session, {
    signal: stop.signal,
    fetch: parameters.fetch,
    timeoutMs: parameters.timeoutMs,
    countCheck: parameters.countCheck,
    onRecovered: parameters.onRecovered,
    request,
  });

  const deltas: string[] = [];
  const waiters: (() => void)[] = [];
  // The exchange is over (accepted or failed); the receipt's delivery may still be on its way.
  let finished = false;
  let failure: { error: unknown } | undefined;
  const wake = () => {
    for (const resolve of waiters) resolve();
    waiters.length = 0;
  };

  // The exchange runs on its own so that `result` settles whether or not anyone iterates.
  const accepted = (async () => {
    try {
      while (true) {
        const next = await chunks.next();
        if (next.done) return next.value;
        const content = deltaContent(next.value);
        if (content) {
          deltas.push(content);
          wake();
        }
      }
    } catch (error) {
      failure = { error };
      throw error;
    } finally {
      finished = true;
      wake();
    }
  })();
  const result = accepted.then(
    async (exchange) => {
      try {
        await receiptDelivery(exchange.receipt, stop.signal);
        return exchange;
      } finally {
        unfollow();
      }
    },
    (error: unknown) => {
      unfollow();
      throw error;
    },
  );
  // Callers who only iterate get the error from the iteration; do not report it twice as unhandled.
  result.catch(() => undefined);

  return {
    result,
    // A plain iterator, not an async generator: a delta already here is handed over in one
    // resolved promise, where a generator resumed and suspended again for every token.
    [Symbol.asyncIterator]() {
      let index = 0;
      let left = false;
      const end = { done: true, value: undefined } as const;
      const next = (): Promise<IteratorResult<string, undefined>> => {
        if (left) return Promise.resolve(end);
        if (index < deltas.length) return Promise.resolve({ done: false, value: deltas[index++]! });
        if (failure) {
          left = true;
          return Promise.reject(failure.error);
        }
        if (finished) {
          left = true;
          return Promise.resolve(end);
        }
        return new Promise<void>((resolve) => waiters.push(resolve)).then(next);
      };
      return {
        next,
        // The reader left early: stop the host's generation.
        return: () => {
          left = true;
          if (!finished) stop.abort(new DOMException("The reader left the stream.", "AbortError"));
          return Promise.resolve(end);
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
  };
}
