/** Log levels in increasing severity; `silent` turns logging off (tests). */
export const logLevels = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

export type LogFields = Record<string, unknown>;

export type Logger = {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
};

export type CreateLoggerParameters = {
  level?: LogLevel;
  /** Where a line goes; default stderr, so that stdout stays free for a CLI's own output. */
  write?: (line: string) => void;
};

/**
 * A structured logger writing one JSON object per line. Values are serialised with bigint support;
 * errors become `{ name, message }` (stack traces only at debug level).
 */
export function createLogger(parameters: CreateLoggerParameters = {}): Logger {
  const threshold = logLevels.indexOf(parameters.level ?? "info");
  const write = parameters.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (level: Exclude<LogLevel, "silent">) => (message: string, fields?: LogFields) => {
    if (logLevels.indexOf(level) < threshold) return;
    const entry = { time: new Date().toISOString(), level, message, ...fields };
    write(JSON.stringify(entry, (_key, value) => serialise(value, threshold === 0)));
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

function serialise(value: unknown, withStack: boolean): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) {
    const shortMessage = (value as { shortMessage?: unknown }).shortMessage;
    return {
      name: value.name,
      message: typeof shortMessage === "string" ? shortMessage : value.message,
      ...(withStack ? { stack: value.stack } : {}),
    };
  }
  return value;
}
