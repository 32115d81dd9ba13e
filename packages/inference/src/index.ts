export type { CallOptions, ChatBackend, ChatMessage, ChatRequest, FinishReason, GenerateResult, StreamPart, Usage } from "./types.ts";
export {
  BackendClosedError,
  ContextOverflowError,
  GenerationError,
  InferenceError,
  InvalidRequestError,
  MissingUsageError,
  ModelLoadError,
  UnsupportedModelError,
  UpstreamBadResponseError,
  UpstreamHttpError,
  UpstreamTimeoutError,
  UpstreamUnreachableError,
  type InferenceErrorCode,
} from "./errors.ts";
export { createEmbeddedBackend, type CreateEmbeddedBackendParameters } from "./embedded/createEmbeddedBackend.ts";
export { embeddedModelInfo } from "./embedded/embeddedModelInfo.ts";
export { pushStream, type DeltaSink, type StreamEnd } from "./pushStream.ts";
export { pacedBackend } from "./pacedBackend.ts";
export { createOpenAICompatibleBackend, type CreateOpenAICompatibleBackendParameters } from "./openai/createOpenAICompatibleBackend.ts";
