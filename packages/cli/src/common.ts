import type { Writable } from "node:stream";
import { plainText } from "./terminalText.ts";

/** Everything a command needs besides its own options: output, environment and cancellation. */
export type Common = {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Aborted on Ctrl-C, so that long waits stop cleanly. */
  signal: AbortSignal;
  debug: boolean;
  /** The chain id the RPC reported, once the command connected (set by `connectToRpc`), so that errors can name the chain. */
  chainId?: number;
};

/**
 * Human-facing output: plain lines, with a spinner for waits when stderr is a terminal. What
 * `info`, `write`, `warn` and `progress` print carries no terminal control (see `plainText`):
 * they print what hosts send (answers, recovered text, refusals), which must not drive the terminal.
 */
export type Logger = {
  info: (message: string) => void;
  /** Raw text without a newline (streamed model output). */
  write: (text: string) => void;
  warn: (message: string) => void;
  /** The command's result as JSON on stdout, when `--json` was given (bigints as decimal strings). */
  result: (value: unknown) => void;
  /** Runs `task`, showing `label` while it waits and how long it took when done. */
  progress: <T>(label: string, task: () => Promise<T>) => Promise<T>;
  /**
   * Where another component's log lines go (the host node's logger): stderr, with a running
   * spinner cleared first and drawn again below, so that a spinner and a log never share a line.
   */
  lines: { write: (text: string) => void; isTTY: boolean };
};

const spinnerFrames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * JSON with bigints (amounts, token counts, job ids) as decimal strings, so no precision is lost,
 * and DEL and the C1 controls escaped: `JSON.stringify` escapes only C0, and a host's text may hold
 * U+009B, which a terminal reads as an escape sequence's start (CSI).
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === "bigint" ? item.toString() : item), 2).replace(
    /[\u007f-\u009f]/g,
    (control) => `\\u${control.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Creates the logger; progress goes to stderr so stdout stays pipeable. With `json`, the human lines
 * are left out and stdout carries only the result.
 */
export function createLogger(
  stdout: Writable & { isTTY?: boolean },
  stderr: Writable & { isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
  options: { json?: boolean } = {},
): Logger {
  const interactive = Boolean(stderr.isTTY) && !env.CI;
  const json = options.json === true;
  let spinner: { label: string; frame: number } | undefined;
  const drawSpinner = () => {
    if (spinner) stderr.write(`\r${spinnerFrames[spinner.frame++ % spinnerFrames.length]} ${spinner.label}`);
  };
  /** Writes whole lines above a running spinner: clear its line, write, draw it again. */
  const aboveSpinner = (write: () => void) => {
    if (!spinner) return write();
    stderr.write("\r\x1b[K");
    write();
    drawSpinner();
  };
  return {
    info: (message) => {
      if (!json) aboveSpinner(() => stdout.write(`${plainText(message)}\n`));
    },
    write: (text) => {
      if (!json) stdout.write(plainText(text));
    },
    result: (value) => {
      if (json) aboveSpinner(() => stdout.write(`${toJson(value)}\n`));
    },
    warn: (message) => aboveSpinner(() => stderr.write(`warning: ${plainText(message)}\n`)),
    lines: { write: (text) => aboveSpinner(() => stderr.write(text)), isTTY: interactive },
    async progress(anyLabel, task) {
      const label = plainText(anyLabel);
      const started = performance.now();
      const outer = spinner;
      if (interactive) spinner = { label, frame: 0 };
      const timer = interactive ? setInterval(drawSpinner, 80) : undefined;
      if (!interactive) stderr.write(`… ${label}\n`);
      try {
        const result = await task();
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        stderr.write(`${interactive ? "\r" : ""}✔ ${label} (${seconds}s)${interactive ? "\x1b[K" : ""}\n`);
        return result;
      } catch (error) {
        stderr.write(`${interactive ? "\r" : ""}✖ ${label}${interactive ? "\x1b[K" : ""}\n`);
        throw error;
      } finally {
        if (timer) clearInterval(timer);
        spinner = outer;
      }
    },
  };
}
