import type { Writable } from "node:stream";

/** Everything a command needs besides its own options: output, environment and cancellation. */
export type Common = {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Aborted on Ctrl-C, so that long waits stop cleanly. */
  signal: AbortSignal;
  debug: boolean;
};

/** Human-facing output: plain lines, with a spinner for waits when stderr is a terminal. */
export type Logger = {
  info: (message: string) => void;
  /** Raw text without a newline (streamed model output). */
  write: (text: string) => void;
  warn: (message: string) => void;
  /** Runs `task`, showing `label` while it waits and how long it took when done. */
  progress: <T>(label: string, task: () => Promise<T>) => Promise<T>;
};

const spinnerFrames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** Creates the logger; progress goes to stderr so stdout stays pipeable. */
export function createLogger(stdout: Writable & { isTTY?: boolean }, stderr: Writable & { isTTY?: boolean }): Logger {
  const interactive = Boolean(stderr.isTTY) && !process.env.CI;
  return {
    info: (message) => stdout.write(`${message}\n`),
    write: (text) => stdout.write(text),
    warn: (message) => stderr.write(`warning: ${message}\n`),
    async progress(label, task) {
      const started = performance.now();
      let frame = 0;
      const timer = interactive
        ? setInterval(() => stderr.write(`\r${spinnerFrames[frame++ % spinnerFrames.length]} ${label}`), 80)
        : undefined;
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
      }
    },
  };
}
