export { createHostNode, type CreateHostNodeParameters, type HostNode } from "./node.ts";
export { createBackend } from "./backend.ts";
export { registerHost, type RegisterHostParameters, type RegisterHostReturnType } from "./register.ts";
export {
  describeHostConfig,
  hostConfigEnv,
  loadHostConfig,
  resolveHostConfig,
  type BackendConfig,
  type BatchPolicy,
  type HostConfig,
  type HostConfigInput,
  type LoadHostConfigParameters,
} from "./config.ts";
export { backendPresets, hostConfigTemplate, type BackendPreset, type HostConfigTemplateParameters } from "./config-template.ts";
export { updateConfigFile, type ConfigValue } from "./config-edit.ts";
export { createCommon, createShutdown, type Common, type CommonOptions, type Shutdown } from "./common.ts";
export { createLogger, redactedFields, type LogDestination, type LogLevel, type Logger } from "./logger.ts";
export { createMetrics, metricValue, type Metrics } from "./metrics.ts";
export { ConfigError, HostError, HostLockError, type HostErrorCode } from "./errors.ts";
export { acquireHostLock, type HostLock } from "./host-lock.ts";
export { decryptKeystore } from "./keystore.ts";
export { readOpenSessionTokens, type SessionTokenCounts } from "./token-ledger.ts";
export type { SessionView } from "./session-protocol.ts";
export type { UnprovenReport } from "./proof-submitter.ts";
