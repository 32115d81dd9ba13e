import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnvil, type Anvil } from "@session-jobs/contracts/anvil";
import { runCli } from "../src/cli.ts";
import { captureStreams } from "./captureStreams.ts";
import { spawnCli } from "./spawnCli.ts";
import { freePort, quickstartBlock, quickstartSteps, untilServing, type QuickstartStep } from "./quickstart.ts";

/**
 * Runs the README's "a host and a paid session on a local chain" block as written: every
 * `session-jobs` line in order, with the environment its `export` lines set. Only the ports
 * differ: the block's anvil (8545) and host (8080) ports become free ones.
 */
describe("the CLI README's quickstart, run as written", () => {
  let anvil: Anvil;
  let dir: string;
  const previousCwd = process.cwd();
  const children: ReturnType<typeof spawnCli>[] = [];

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
    expect(quickstartBlock, "README.md has a <!-- quickstart --> sh block").toBeDefined();
    const all = quickstartSteps(quickstartBlock!, { anvil: new URL(anvil.rpcUrl).port, host: await freePort() });
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
  async function startInBackground(step: QuickstartStep) {
    const child = spawnCli(step.argv, { cwd: dir, env: { ...process.env, CI: "true", ...step.env } });
    children.push(child);
    await untilServing(child, step.line);
  }
});
