export { createHostNode, type CreateHostNodeParameters, type HostNode } from "./node.ts";
export { createBackend } from "./backend.ts";
export { registerHost, type RegisterHostParameters, type RegisterHostReturnType } from "./chain/register.ts";
export {
  describeHostConfig,
  hostConfigEnv,
  loadHostConfig,
  loadHostStoreConfig,
  resolveHostConfig,
  type BackendConfig,
  type BatchPolicy,
  type HostConfig,
  type HostConfigInput,
  type HostStoreConfig,
  type LoadHostConfigParameters,
} from "./config/config.ts";
export { backendPresets, hostConfigTemplate, type BackendPreset, type HostConfigTemplateParameters } from "./config/configTemplate.ts";
export { updateConfigFile, type ConfigValue } from "./config/configEdit.ts";
export { createCommon, createShutdown, type Common, type CommonOptions, type Shutdown } from "./common.ts";
export { createLogger, redactedFields, type LogDestination, type LogLevel, type Logger } from "./observability/logger.ts";
export { createMetrics, metricValue, type Metrics } from "./observability/metrics.ts";
export { ConfigError, HostError, HostLockError, StoreDeploymentError, StoreOpenError, type HostErrorCode } from "./errors.ts";
export { acquireHostLock, type HostLock } from "./store/hostLock.ts";
export { decryptKeystore } from "./config/keystore.ts";
export { readOpenSessionTokens, readStoreSessionTokens, type SessionTokenCounts } from "./session/tokenLedger.ts";
export type { SessionView } from "./session/sessionProtocol.ts";
export type { UnprovenReport } from "./chain/proofSubmitter.ts";
export {
  MigrationAbortedError,
  MigrationMarkError,
  MigrationSourceError,
  migrateStore,
  type MigrationProgress,
  type StoreMigration,
} from "./store/migrateStore.ts";
export { reopenMigratedSqlite, RollbackRefusedError, type ReopenedSqlite } from "./store/reopenSqlite.ts";
export type { ServedSince } from "./store/rollbackCheck.ts";
export { openStore, type StoreLocation } from "./store/openStore.ts";
export { describeStoreUrl, percentEncodeHint, withoutPassword, type StoreUrl } from "./store/storeUrl.ts";
export type { Store, StoreDeployment } from "./store/storeTypes.ts";
export { appSecurityHeaders } from "./http/appSecurity.ts";
