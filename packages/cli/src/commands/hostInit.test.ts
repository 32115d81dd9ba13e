import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "smol-toml";
import { runCli } from "../cli.ts";
import { captureStreams } from "../../test/captureStreams.ts";

async function cli(argv: string[], env: Record<string, string> = {}) {
  const { stdout, stderr, streams } = captureStreams();
  const code = await runCli(argv, { ...streams, env: { CI: "true", ...env } });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe("session-jobs host init", () => {
  it("asks for the host key next only when it is not set", async () => {
    const dir = mkdtempSync(join(tmpdir(), "host-init-"));
    const argv = (name: string) => ["host", "init", "--out", join(dir, name), "--model-id", `0x${"ab".repeat(32)}`];
    expect((await cli(argv("a.toml"))).stdout).toContain("next: set SESSION_JOBS_HOST_PRIVATE_KEY (or a [keystore]), then `session-jobs host register`");
    const withKey = await cli(argv("b.toml"), { SESSION_JOBS_HOST_PRIVATE_KEY: `0x${"11".repeat(32)}` });
    expect(withKey.code, withKey.stderr).toBe(0);
    expect(withKey.stdout).toContain("next: `session-jobs host register` and `session-jobs host start`");
  });

  it("writes an upstream preset with the deployment path relative to the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "host-init-"));
    const out = join(dir, "conf", "host.toml");
    writeFileSync(join(dir, "deployment.json"), "{}");
    mkdirSync(join(dir, "conf"));
    const model = `0x${"ab".repeat(32)}`;
    const result = await cli([
      "host",
      "init",
      "--preset",
      "ollama",
      "--out",
      out,
      "--deployment",
      join(dir, "deployment.json"),
      "--model-id",
      model,
      "--backend-model",
      "llama3.2",
      "--price",
      "1500",
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(parse(readFileSync(out, "utf8"))).toMatchObject({
      deployments: "../deployment.json",
      models: [model],
      pricing: { minPricePerToken: 1500 },
      backend: { type: "upstream", url: "http://127.0.0.1:11434/v1", model: "llama3.2" },
    });
  });

  it("refuses to overwrite, an unknown preset, and an upstream preset without its model", async () => {
    const dir = mkdtempSync(join(tmpdir(), "host-init-"));
    const out = join(dir, "host.toml");
    writeFileSync(out, "mine");
    const cases: [string[], RegExp][] = [
      [["--out", out], /^error: .*host\.toml exists\n {2}hint: give --force/],
      [["--out", join(dir, "a.toml"), "--preset", "vlm"], /^error: --preset: "vlm" is not one of embedded, vllm, llama-cpp, ollama, openai\n$/],
      [
        ["--out", join(dir, "a.toml"), "--preset", "vllm", "--backend-model", "m"],
        /^error: --model-id: required for --preset vllm\n {2}hint: approve the model with `session-jobs model add`/,
      ],
      [["--out", join(dir, "a.toml"), "--preset", "vllm", "--model-id", `0x${"ab".repeat(32)}`], /^error: --backend-model: required for --preset vllm/],
      [
        ["--out", join(dir, "a.toml"), "--preset", "openai", "--model-id", `0x${"ab".repeat(32)}`, "--backend-model", "m"],
        /^error: --backend-url: required for --preset openai/,
      ],
      [["--out", join(dir, "a.toml"), "--price", "5"], /^error: --price: 5 is below the minimum 100\n$/],
    ];
    for (const [argv, pattern] of cases) {
      const result = await cli(["host", "init", ...argv]);
      expect(result.code, argv.join(" ")).toBe(1);
      expect(result.stderr).toMatch(pattern);
    }
    expect(readFileSync(out, "utf8")).toBe("mine");
  });

  it("is what the other host commands point to when there is no config file", async () => {
    const result = await cli(["host", "register"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: invalid host configuration: .*\n {2}hint: no config file \(\.\/host\.toml, --config or SESSION_JOBS_HOST_CONFIG\): `session-jobs host init` writes one\n$/,
    );
  });
});
