import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnvil, type Anvil } from "@session-jobs/contracts/anvil";
import { runCli } from "../src/cli.ts";
import { captureStreams } from "./captureStreams.ts";

/**
 * Runs the README's "a host and a paid session on a local chain" block as written: every
 * `session-jobs` line in order, with the environment its `export` lines set. Only the ports
 * differ: the block's anvil (8545) and host (8080) ports become free ones.
 */
const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");
const block = /<!-- quickstart -->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];

type Step = { env: Record<string, string>; argv: string[]; background: boolean; line: string };

/** Splits the block into steps: `export` lines set variables, `VAR=value session-jobs …` runs one. */
function steps(text: string, replacePorts: (line: string) => string): Step[] {
  const env: Record<string, string> = {};
  const result: Step[] = [];
  for (const raw of text.split("\n")) {
    const line = replacePorts(raw.replace(/\s+#.*$/, "").trim());
    if (line === "" || line.startsWith("#") || line === "anvil" || line.startsWith("export PATH=")) continue;
    const words = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2]!);
    if (words[0] === "export") {
      for (const assignment of words.slice(1)) env[assignment.split("=")[0]!] = assignment.slice(assignment.indexOf("=") + 1);
      continue;
    }
    const local: Record<string, string> = {};
    while (/^[A-Z_]+=/.test(words[0]!)) {
      const assignment = words.shift()!;
      local[assignment.split("=")[0]!] = assignment.slice(assignment.indexOf("=") + 1);
    }
    expect(words[0], line).toBe("session-jobs");
    const background = words.at(-1) === "&";
    result.push({ env: { ...env, ...local }, argv: words.slice(1, background ? -1 : undefined), background, line });
  }
  return result;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once("error", reject);
  });
}

describe("the CLI README's quickstart, run as written", () => {
  let anvil: Anvil;
  let dir: string;
  const previousCwd = process.cwd();
  const children: ReturnType<typeof spawn>[] = [];

  beforeAll(async () => {
    anvil = await startAnvil();
    dir = mkdtempSync(join(tmpdir(), "session-jobs-quickstart-"));
    process.chdir(dir);
  });

  afterAll(async () => {
    process.chdir(previousCwd);
    for (const child of children) child.kill("SIGINT");
    await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve)))));
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("deploys, starts a host from host init, and runs a paid session", async () => {
    expect(block, "README.md has a <!-- quickstart --> sh block").toBeDefined();
    const hostPort = await freePort();
    const anvilPort = new URL(anvil.rpcUrl).port;
    const all = steps(block!, (line) => line.replaceAll("127.0.0.1:8545", `127.0.0.1:${anvilPort}`).replace(/\b8080\b/g, String(hostPort)));
    expect(all.map(({ argv }) => argv.slice(0, 2).join(" "))).toEqual(
      expect.arrayContaining(["host init", "host register", "host start", "client open", "client chat", "client close"]),
    );
    const outputs: string[] = [];
    for (const step of all) {
      if (step.background) {
        await startInBackground(step);
        continue;
      }
      const { stdout, stderr, streams } = captureStreams();
      const code = await runCli(step.argv, { ...streams, env: { CI: "true", SESSION_JOBS_SESSIONS_DIR: join(dir, "sessions"), ...step.env } });
      expect(code, `${step.line}\n${stdout.text()}${stderr.text()}`).toBe(0);
      outputs.push(stdout.text());
    }
    expect(outputs.at(-1)).toMatch(/tokens proven on chain\s+[1-9]\d*\n/);
  }, 180_000);

  /** `session-jobs host start &`: a child process, ready once it prints where it serves. */
  async function startInBackground(step: Step) {
    const child = spawn(
      process.execPath,
      [
        "--conditions=@session-jobs/source",
        "--import",
        pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href,
        fileURLToPath(new URL("../src/bin.ts", import.meta.url)),
        ...step.argv,
      ],
      {
        cwd: dir,
        env: { ...process.env, CI: "true", ...step.env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    children.push(child);
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const read = (chunk: Buffer) => {
        output += String(chunk);
        if (/serving at http/.test(output)) resolve();
      };
      child.stdout.on("data", read);
      child.stderr.on("data", read);
      child.once("exit", (code) => reject(new Error(`${step.line} exited with ${code}:\n${output}`)));
    });
  }
});
