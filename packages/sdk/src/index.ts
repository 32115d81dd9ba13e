export { BaseError, type BaseErrorType, type BaseErrorParameters } from "./errors/base.ts";
export {
  HostAnswerCutShortError,
  HostContentEncodingError,
  HostResponseError,
  HostTimeoutError,
  HostUnreachableError,
  InvalidHostUrlError,
  InvalidRequestError,
  ModelNotServedError,
  parseHostError,
  SessionBadSignatureError,
  SessionDepositExhaustedError,
  SessionHostError,
  SessionNotActiveError,
  SessionOutOfSyncError,
  SessionReceiptMismatchError,
  SessionReceiptOverdueError,
  SessionReplayedError,
  SessionUnknownError,
  SessionWrongHostError,
  SessionTermsRefusedError,
  type HostErrorParameters,
} from "./errors/host.ts";
export {
  ContractCallError,
  ContractRevertError,
  decodeContractError,
  ExceedsDepositError,
  HostNotRegisteredError,
  InsufficientDepositError,
  OnlyHostCanSubmitProofError,
  PriceBelowHostMinimumError,
  CheckpointIntervalAboveHostMaxError,
  DepositBelowHostMinimumError,
  TransactionRevertedError,
  UnknownContractRevertError,
  type ContractRevertErrorParameters,
  type SessionJobsErrorName,
} from "./errors/contract.ts";
export {
  HostAnswerTooLargeError,
  HostRecordsGapError,
  InvalidChatParametersError,
  SessionClosingError,
  SessionCloseInProgressError,
  SessionDisputedError,
  SessionFetchUrlError,
  SessionProtocolError,
  UndeliveredAnswersError,
  UnrecordedAnswersError,
  TokenCountMismatchError,
  TranscriptMismatchError,
  type TokenCountViolation,
} from "./errors/session.ts";

export type { BilledAnswer, CountCheckOptions, Session, SessionReceipt } from "./session/types.ts";
export { maxBilledAnswers } from "./session/billedAnswers.ts";
export { deserializeSession, serializeSession } from "./session/serialization.ts";
export { checkTokenCounts, defaultCountCheck, type CheckTokenCountsParameters } from "./session/countCheck.ts";
export { parseServerSentEvents, type ParseServerSentEventsOptions, type ServerSentEvent } from "./session/sse.ts";
export type { ChatCompletionChunk, ExchangeResult } from "./session/exchange.ts";
export { defaultIdleTimeoutMs, maxErrorBytes, type HostBody, type HostRequestOptions } from "./session/hostFetch.ts";
export { maxAnswerBytes, readText } from "./session/readBody.ts";
export { hostEndpoint } from "./session/transport.ts";
export { maxUndeliveredInARow, type SyncOptions } from "./session/sync.ts";
export { parseSyncResponse, reconcile, type Reconciliation, type ReconcileParameters, type RecoveredExchange } from "./session/reconcile.ts";

export type { SessionJobsContracts } from "./contracts.ts";
export {
  erc20ErrorAbi,
  hostEarningsAbi,
  jobMarketplaceWithModelsAbi,
  marketplaceAbi,
  modelRegistryAbi,
  nodeRegistryWithModelsAbi,
  proofSystemAbi,
  sessionJobsErrorAbi,
} from "./abis.ts";

export { getNodePricing, type GetNodePricingErrorType, type GetNodePricingParameters, type GetNodePricingReturnType } from "./actions/getNodePricing.ts";
export { getHostInfo, type GetHostInfoErrorType, type GetHostInfoParameters, type GetHostInfoReturnType, type HostInfo } from "./actions/getHostInfo.ts";
export { followHostUrl, type FollowHostUrlErrorType, type FollowHostUrlParameters, type FollowHostUrlReturnType } from "./actions/followHostUrl.ts";
export {
  getHostsForModel,
  type GetHostsForModelErrorType,
  type GetHostsForModelParameters,
  type GetHostsForModelReturnType,
} from "./actions/getHostsForModel.ts";
export { openSession, type OpenSessionErrorType, type OpenSessionParameters, type OpenSessionReturnType } from "./actions/openSession.ts";
export { closeSession, type CloseSessionErrorType, type CloseSessionParameters, type CloseSessionReturnType, type HostRetry } from "./actions/closeSession.ts";
export {
  getSession,
  type GetSessionErrorType,
  type GetSessionParameters,
  type GetSessionReturnType,
  type OnChainSession,
  type SessionStatus,
} from "./actions/getSession.ts";
export {
  getSettlement,
  type GetSettlementErrorType,
  type GetSettlementParameters,
  type GetSettlementReturnType,
  type Settlement,
} from "./actions/getSettlement.ts";
export {
  listedSession,
  listSessions,
  type ListedSession,
  type ListSessionsErrorType,
  type ListSessionsParameters,
  type ListSessionsReturnType,
  type PendingRefund,
  type SessionAction,
} from "./actions/listSessions.ts";
export {
  triggerSessionTimeout,
  type TriggerSessionTimeoutErrorType,
  type TriggerSessionTimeoutParameters,
  type TriggerSessionTimeoutReturnType,
} from "./actions/triggerSessionTimeout.ts";
export { withdrawRefund, type WithdrawRefundErrorType, type WithdrawRefundParameters, type WithdrawRefundReturnType } from "./actions/withdrawRefund.ts";
export { watchProofs, type ProofSubmission, type WatchProofsErrorType, type WatchProofsParameters, type WatchProofsReturnType } from "./actions/watchProofs.ts";
export { watchSettlement, type WatchSettlementErrorType, type WatchSettlementParameters, type WatchSettlementReturnType } from "./actions/watchSettlement.ts";

export { syncSession, type SyncSessionErrorType, type SyncSessionParameters, type SyncSessionReturnType } from "./actions/syncSession.ts";
export {
  getHostPolicy,
  type GetHostPolicyErrorType,
  type GetHostPolicyParameters,
  type GetHostPolicyReturnType,
  type HostPolicy,
} from "./actions/getHostPolicy.ts";
export { chat, type ChatErrorType, type ChatMessage, type ChatParameters, type ChatReturnType } from "./actions/chat.ts";
export { streamChat, type StreamChatErrorType, type StreamChatParameters, type StreamChatReturnType } from "./actions/streamChat.ts";

export {
  createSessionFetch,
  type CreateSessionFetchErrorType,
  type CreateSessionFetchParameters,
  type CreateSessionFetchReturnType,
} from "./adapters/createSessionFetch.ts";

export * from "./protocol/index.ts";
