import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";

function capture(isTTY = false) {
  const lines: string[] = [];
  return { lines, destination: { isTTY, write: (chunk: string) => lines.push(...chunk.split("\n").filter(Boolean)) } };
}

describe("logger", () => {
  it("writes one JSON object per line with bigints and errors made readable", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ destination });
    logger.info("proof sent", { jobId: 7n, error: Object.assign(new Error("long text"), { shortMessage: "short" }) });
    logger.debug("not shown at info");
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: "info", message: "proof sent", jobId: "7", error: { name: "Error", message: "short" } });
    expect(Date.parse(entry.time)).not.toBeNaN();
    expect(entry.error.stack).toBeUndefined();
  });

  it("redacts secrets by field name, also nested", () => {
    const { lines, destination } = capture();
    const key = `0x${"ab".repeat(32)}`;
    createLogger({ destination }).warn("config", {
      privateKey: key,
      backend: { apiKey: "sk-secret" },
      keystore: { password: "hunter2" },
      nested: { deeper: { sessionKey: key } },
    });
    expect(lines.join("\n")).not.toMatch(/ab{2}abab|sk-secret|hunter2/);
    expect(JSON.parse(lines[0]!)).toMatchObject({ privateKey: "[redacted]", backend: { apiKey: "[redacted]" }, keystore: { password: "[redacted]" } });
  });

  it("writes human lines to a terminal, still redacted", () => {
    const { lines, destination } = capture(true);
    createLogger({ destination }).info("host node ready", { url: "http://127.0.0.1:8080", apiKey: "sk-secret" });
    const text = lines.join("\n");
    expect(text).toContain("host node ready");
    expect(text).toContain("http://127.0.0.1:8080");
    expect(text).not.toContain("sk-secret");
    expect(() => JSON.parse(lines[0]!)).toThrow();
  });

  it("is silent at level silent", () => {
    const { lines, destination } = capture();
    createLogger({ level: "silent", destination }).error("nothing");
    expect(lines).toEqual([]);
  });
});
