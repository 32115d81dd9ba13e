import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { captureStreams } from "../test/captureStreams.ts";
import { spawnCli } from "../test/spawnCli.ts";
import { runCli } from "./cli.ts";
import { defaultChatMaxTokens } from "./commands/clientChat.ts";
import { commands } from "./commands/index.ts";
import { cliVersion } from "./program.ts";

async function cli(argv: string[]) {
  const { stdout, stderr, streams } = captureStreams();
  const code = await runCli(argv, { ...streams, env: { CI: "true" } });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** A deployment file that reads, for commands that check it before their other options. */
function deploymentFile(): string {
  const fields = ["modelRegistry", "nodeRegistry", "proofSystem", "hostEarnings", "jobMarketplace", "treasury", "owner"];
  const path = join(mkdtempSync(join(tmpdir(), "cli-test-")), "deployment.json");
  writeFileSync(path, JSON.stringify({ chainId: 31337, ...Object.fromEntries(fields.map((field) => [field, `0x${"11".repeat(20)}`])) }));
  return path;
}

const groups = [...new Set(commands.filter((command) => command.path.length > 1).map((command) => command.path[0]!))];

describe("command-line conventions", () => {
  it("--version and -v print the package version", async () => {
    expect(cliVersion()).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ["--version", "-v"]) expect(await cli([flag])).toEqual({ code: 0, stdout: `${cliVersion()}\n`, stderr: "" });
  });

  it("no arguments, -h and help print the overview with every group", async () => {
    for (const argv of [[], ["-h"], ["--help"], ["help"]]) {
      const result = await cli(argv);
      expect(result.code, argv.join(" ")).toBe(0);
      for (const group of groups) expect(result.stdout).toMatch(new RegExp(`\\n  ${group}\\b`));
    }
  });

  it.each(commands.map((command) => [command.path.join(" "), command] as const))("`%s` has -h, --help and help <command>", async (_name, command) => {
    const short = await cli([...command.path, "-h"]);
    expect(short.code).toBe(0);
    expect(short.stdout).toContain(`Usage: session-jobs ${command.path.join(" ")} [options]`);
    for (const option of Object.keys(command.options)) expect(short.stdout).toContain(`--${option}`);
    expect(short.stdout.includes("--json")).toBe(command.json !== false);
    expect((await cli([...command.path, "--help"])).stdout).toBe(short.stdout);
    expect((await cli(["help", ...command.path])).stdout).toBe(short.stdout);
  });

  it("help states what bounds money: chat's default max_tokens, and what close --force costs the host", async () => {
    const flat = async (argv: string[]) => (await cli(argv)).stdout.replace(/\s+/g, " ");
    expect(await flat(["client", "chat", "--help"])).toContain(`(default ${defaultChatMaxTokens}, or the host's own limit if lower)`);
    expect(await flat(["client", "close", "--help"])).toMatch(/--force .*settle as the depositor.*paid only what it has proven/);
  });

  it.each(groups)("`%s` on its own shows the group's help", async (group) => {
    const result = await cli([group]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: session-jobs ${group} [options] [command]`);
    for (const command of commands.filter((entry) => entry.path[0] === group)) expect(result.stdout).toContain(`  ${command.path[1]} `);
    expect((await cli([group, "--help"])).stdout).toBe(result.stdout);
  });

  it("a mistyped command or option is a usage error (exit 2) with a suggestion", async () => {
    const command = await cli(["client", "opne"]);
    expect(command.code).toBe(2);
    expect(command.stderr).toMatch(/^error: unknown command 'opne' \(Did you mean open\?\) \(add --help for usage\)\n$/);
    const group = await cli(["clinet"]);
    expect(group).toMatchObject({ code: 2 });
    expect(group.stderr).toContain("(Did you mean client?)");
    const option = await cli(["client", "open", "--hots", "0x0"]);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/^error: unknown option '--hots' \(Did you mean --host\?\) \(add --help for usage\)\n$/);
    const missing = await cli(["client", "open", "--host"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: option '--host <host>' argument missing/);
    expect((await cli(["deploy", "stray"])).code).toBe(2);
  });

  it.each([
    [["client", "chat", "--job", "1"], "missing --prompt"],
    [["client", "chat", "--prompt", "hi"], "missing --deployment (or SESSION_JOBS_DEPLOYMENT)"],
    [["client", "chat", "--prompt", "hi", "--deployment", deploymentFile()], "missing --job"],
    [["client", "hosts", "--repo", "org/model"], "--repo and --file go together"],
    [["client", "open", "--deposit", "0.01"], "missing --host"],
    [["client", "open", "--host", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"], "missing --deposit"],
    [["client", "hosts"], "missing --model-id (or --repo and --file)"],
  ])("a missing required option (%j) is a usage error (exit 2), one line with the help to read", async (argv, message) => {
    const result = await cli(argv);
    expect(result.stderr).toMatch(new RegExp(`^error: ${message.replace(/[()]/g, "\\$&")}[^\n]*\n(  hint: see: session-jobs [a-z ]+ --help\n)?$`));
    expect(result.code).toBe(2);
  });

  it("the installed command exits 2 for a missing required option", { timeout: 120_000 }, async () => {
    const child = spawnCli(["client", "chat", "--job", "1"], { env: { ...process.env, CI: "true" } });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, "close")) as [number];
    expect(stderr).toMatch(/^error: missing --prompt\n/);
    expect(code).toBe(2);
  });

  it("a negative number is one line naming the option, not a parser message", async () => {
    for (const argv of [
      ["client", "status", "--job", "-1"],
      ["client", "open", "--host", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "--deposit", "0.01", "--price", "-5"],
      ["dev", "mint", "--amount", "-0.01"],
      ["host", "start", "--port=-80"],
    ]) {
      const result = await cli(argv);
      expect(result.code, argv.join(" ")).toBe(1);
      expect(result.stderr, argv.join(" ")).toMatch(/^error: --[a-z-]+: -[\d.]+ is negative; give a [^\n]+\n$/);
    }
  });

  it("stdout stays empty when a command fails, with or without --json", async () => {
    const result = await cli(["client", "status", "--job", "x", "--json"]);
    expect(result).toEqual({ code: 1, stdout: "", stderr: 'error: --job: "x" is not a whole number\n' });
  });
});
