import { pino, stdTimeFunctions } from "pino";
import { prettyFactory } from "pino-pretty";

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

/** Where log lines go: anything with `write(line)`; `isTTY` picks the human format. */
export type LogDestination = { write(line: string): unknown; isTTY?: boolean };

export type CreateLoggerParameters = {
  level?: LogLevel;
  /** Default stderr, so that stdout stays free for a CLI's own output. */
  destination?: LogDestination;
  /** Human-readable lines instead of JSON; default when the destination is a terminal. */
  pretty?: boolean;
};

/** Fields whose values are never written, at any depth the node logs them. */
export const redactedFields = ["privateKey", "apiKey", "password", "passwordFile", "sessionKey", "authorization", "mnemonic"];

/**
 * A structured logger (pino): one JSON object per line (`time`, `level`, `message`, fields), or
 * pretty lines in a terminal. Secrets are redacted by field name; bigints are written as strings;
 * errors become `{ name, message }` (with the stack at debug level).
 */
export function createLogger(parameters: CreateLoggerParameters = {}): Logger {
  const level = parameters.level ?? "info";
  const destination = parameters.destination ?? process.stderr;
  const withStack = level === "debug";
  const stream = (parameters.pretty ?? Boolean(destination.isTTY)) ? prettyLines(destination) : destination;
  const logger = pino(
    {
      level,
      base: null,
      messageKey: "message",
      timestamp: stdTimeFunctions.isoTime,
      redact: { paths: redactedFields.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]), censor: "[redacted]" },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => Object.fromEntries(Object.entries(object).map(([key, value]) => [key, serialise(value, withStack)])),
      },
    },
    stream as pino.DestinationStream,
  );
  const log = (method: "debug" | "info" | "warn" | "error") => (message: string, fields?: LogFields) => logger[method](fields ?? {}, message);
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

/** Turns pino's JSON lines into pino-pretty's human lines, written synchronously (no worker thread). */
function prettyLines(destination: LogDestination): LogDestination {
  const format = prettyFactory({ messageKey: "message", translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", colorize: Boolean(destination.isTTY) });
  return { write: (line: string) => destination.write(format(line)) };
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
  if (Array.isArray(value)) return value.map((item) => serialise(item, withStack));
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype)
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, serialise(item, withStack)]));
  return value;
}
