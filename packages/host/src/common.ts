import { createLogger, type LogDestination, type LogLevel, type Logger } from "./observability/logger.ts";
import { createMetrics, type Metrics } from "./observability/metrics.ts";

/** Process-wide options that are not part of the node's configuration. */
export type CommonOptions = {
  logLevel: LogLevel;
  /** Where log lines go (default stderr); pretty when it is a terminal, JSON otherwise. */
  logDestination?: LogDestination;
  /** Export the process's own metrics in /metrics (default true). */
  processMetrics?: boolean;
};

/**
 * Shutdown through one AbortController: `signal` aborts when shutdown begins, and the registered
 * callbacks then run in reverse order of registration (last started, first stopped).
 */
export type Shutdown = {
  signal: AbortSignal;
  readonly isKilled: boolean;
  /** `callback` may return a promise; `kill()` awaits it. */
  add(callback: () => unknown): void;
  kill(): Promise<void>;
};

/** What every subsystem receives: `createX({ common, … })`. */
export type Common = {
  options: CommonOptions;
  logger: Logger;
  metrics: Metrics;
  shutdown: Shutdown;
};

export function createShutdown(logger?: Logger): Shutdown {
  const controller = new AbortController();
  const callbacks: (() => unknown)[] = [];
  let killing: Promise<void> | undefined;
  return {
    signal: controller.signal,
    get isKilled() {
      return controller.signal.aborted;
    },
    add(callback) {
      callbacks.push(callback);
    },
    kill() {
      killing ??= (async () => {
        controller.abort();
        for (const callback of callbacks.reverse()) {
          try {
            await callback();
          } catch (error) {
            logger?.error("shutdown step failed", { error });
          }
        }
      })();
      return killing;
    },
  };
}

export function createCommon(options: Partial<CommonOptions> = {}): Common {
  const resolved: CommonOptions = { ...options, logLevel: options.logLevel ?? "info" };
  const logger = createLogger({ level: resolved.logLevel, ...(options.logDestination && { destination: options.logDestination }) });
  return { options: resolved, logger, metrics: createMetrics({ processMetrics: options.processMetrics }), shutdown: createShutdown(logger) };
}
