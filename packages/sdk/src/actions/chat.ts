import type { BaseError } from "../errors/base.ts";
import { InvalidChatParametersError } from "../errors/session.ts";
import { jsonExchange, type ExchangeResult } from "../session/exchange.ts";
import type { RecoveredExchange } from "../session/reconcile.ts";
import type { HostRequestOptions } from "../session/transport.ts";
import type { CountCheckOptions, Session } from "../session/types.ts";
import type { SyncSessionErrorType } from "./syncSession.ts";

/** A chat message as the OpenAI API takes it, with the roles a host takes (no `tool`: a session serves no tool calls). */
export type ChatMessage = {
  role: "system" | "user" | "assistant" | "developer";
  content: string | unknown[] | null;
  [field: string]: unknown;
};

export type ChatParameters = HostRequestOptions & {
  messages: ChatMessage[];
  /** The `model` field; default the session's model, else none (the host serves its one model). */
  model?: string | undefined;
  /** Most completion tokens, a positive integer; also a bound of the count check. */
  maxTokens?: number | undefined;
  /** Further OpenAI request fields (`temperature`, `stop`, …), sent as given. */
  body?: Record<string, unknown> | undefined;
  /** Overrides the session's count-check bounds for this request. */
  countCheck?: CountCheckOptions | undefined;
  /**
   * Called with earlier answers this request recovered from the host first (they broke off), once
   * signed for: their text reaches the app even if this request then fails. Also on the result.
   */
  onRecovered?: ((exchanges: RecoveredExchange[]) => void) | undefined;
};

export type ChatReturnType = ExchangeResult & {
  /** The host's chat completion JSON, `session` object included. */
  response: Record<string, unknown>;
};

/**
 * What a sync throws (a chat syncs first after a broken exchange), or another {@link BaseError}:
 * {@link InvalidChatParametersError} for a `maxTokens` (or body `max_tokens`) that is not a
 * positive integer, before anything is signed or sent.
 */
export type ChatErrorType = SyncSessionErrorType | BaseError;

/**
 * Sends one chat request through the session and waits for the whole answer. The request is
 * signed by the session key; the host's token counts are checked against what arrived, the
 * transcript hash is recomputed and compared, and only then is a cumulative receipt signed and
 * sent to the host.
 *
 * @example
 * const { text, cumulativeTokens } = await chat(session, {
 *   messages: [{ role: "user", content: "In the beginning" }],
 *   maxTokens: 64,
 * });
 */
export async function chat(session: Session, parameters: ChatParameters): Promise<ChatReturnType> {
  return jsonExchange(session, {
    signal: parameters.signal,
    fetch: parameters.fetch,
    timeoutMs: parameters.timeoutMs,
    countCheck: parameters.countCheck,
    onRecovered: parameters.onRecovered,
    request: buildChatRequest(session, parameters, false),
  });
}

/**
 * The request body of a chat: caller's extra fields, then the fields this SDK owns. Throws
 * {@link InvalidChatParametersError} for a token bound the host would refuse, or that the count
 * check could not hold the host to (`NaN`, `Infinity`, a fraction).
 */
export function buildChatRequest(
  session: Session,
  parameters: Pick<ChatParameters, "messages" | "model" | "maxTokens" | "body">,
  stream: boolean,
): { messages: ChatMessage[]; stream: boolean; [field: string]: unknown } {
  for (const [parameter, value] of [
    ["maxTokens", parameters.maxTokens],
    ["max_tokens", parameters.body?.max_tokens],
    ["max_completion_tokens", parameters.body?.max_completion_tokens],
  ] as const) {
    if (typeof value === "number" && !(Number.isSafeInteger(value) && value > 0))
      throw new InvalidChatParametersError({ parameter, value, expected: "a positive integer" });
  }
  return {
    ...parameters.body,
    ...((parameters.model ?? session.model) === undefined ? {} : { model: parameters.model ?? session.model }),
    messages: parameters.messages,
    ...(parameters.maxTokens === undefined ? {} : { max_tokens: parameters.maxTokens }),
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  };
}
