export { BaseError, type BaseErrorType, type BaseErrorParameters } from "./errors/base.ts";
export {
  HostResponseError,
  HostUnreachableError,
  InvalidRequestError,
  ModelNotServedError,
  parseHostError,
  SessionBadSignatureError,
  SessionDepositExhaustedError,
  SessionHostError,
  SessionNotActiveError,
  SessionReceiptMismatchError,
  SessionReceiptOverdueError,
  SessionReplayedError,
  SessionUnknownError,
  SessionWrongHostError,
  type HostErrorParameters,
} from "./errors/host.ts";
export {
  SessionDisputedError,
  SessionProtocolError,
  TokenCountMismatchError,
  TranscriptMismatchError,
  type TokenCountViolation,
} from "./errors/session.ts";

export type { CountCheckOptions, Session, SessionReceipt } from "./session/types.ts";
export { deserializeSession, serializeSession } from "./session/serialization.ts";
export { checkTokenCounts, defaultCountCheck, type CheckTokenCountsParameters } from "./session/countCheck.ts";
export { parseServerSentEvents, type ServerSentEvent } from "./session/sse.ts";
export type { ChatCompletionChunk, ExchangeResult, HostRequestOptions } from "./session/exchange.ts";

export { chat, type ChatErrorType, type ChatMessage, type ChatParameters, type ChatReturnType } from "./actions/chat.ts";
export {
  streamChat,
  type StreamChatErrorType,
  type StreamChatParameters,
  type StreamChatReturnType,
} from "./actions/streamChat.ts";

export {
  createSessionFetch,
  type CreateSessionFetchParameters,
  type CreateSessionFetchReturnType,
} from "./adapters/createSessionFetch.ts";

export * from "./protocol/index.ts";
