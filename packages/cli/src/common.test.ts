import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, toJson } from "./common.ts";

/** A terminal: collects what is written, and shows each line as a terminal would draw it. */
function terminal() {
  let text = "";
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, callback) {
        text += String(chunk);
        callback();
      },
    }),
    { isTTY: true },
  );
  const screenLines = () =>
    text.split("\n").map((line) => {
      let shown = "";
      let cursor = 0;
      // eslint-disable-next-line no-control-regex -- the terminal escape that clears to the end of the line is what this parses
      for (const part of line.split(/(\r|\x1b\[K)/)) {
        if (part === "\r") cursor = 0;
        else if (part === "\x1b[K") shown = shown.slice(0, cursor);
        else {
          shown = shown.slice(0, cursor) + part + shown.slice(cursor + part.length);
          cursor += part.length;
        }
      }
      return shown;
    });
  return { stream, text: () => text, screenLines };
}

describe("CLI logger", () => {
  it("never draws a spinner and a log line on one terminal line", async () => {
    const screen = terminal();
    const logger = createLogger(screen.stream, screen.stream, {});
    let finish!: () => void;
    const done = logger.progress("starting host", () => new Promise<void>((resolve) => (finish = resolve)));
    await expect.poll(() => screen.text()).toContain("⠋ starting host");
    logger.lines.write('{"level":"info","message":"host node ready"}\n');
    logger.info("host serving at http://127.0.0.1:8080");
    logger.warn("low gas");
    finish();
    await done;
    const lines = screen.screenLines();
    for (const line of lines) if (/starting host/.test(line)) expect(line).toMatch(/^(⠋|⠙|⠹|⠸|⠼|⠴|⠦|⠧|⠇|⠏|✔) starting host/);
    expect(lines).toContain('{"level":"info","message":"host node ready"}');
    expect(lines).toContain("host serving at http://127.0.0.1:8080");
    expect(lines).toContain("warning: low gas");
    expect(lines.some((line) => /^✔ starting host \(\d+\.\ds\)$/.test(line))).toBe(true);
  });
});

describe("toJson", () => {
  it("escapes DEL and the C1 controls JSON leaves raw (U+009B is a terminal's 8-bit CSI), and reads back as the same value", () => {
    const hostile = { text: "a\u009b2Jb\u007fc\u0085d", jobId: 7n, plain: "Grüße, 日本語 🙂" };
    const json = toJson(hostile);
    // eslint-disable-next-line no-control-regex -- the point of the test
    expect(json).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(JSON.parse(json)).toEqual({ ...hostile, jobId: "7" });
  });
});
