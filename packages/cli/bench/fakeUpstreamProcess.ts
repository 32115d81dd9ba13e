/**
 * The fake upstream as an OS process of its own (a GPU server is not in the client's process):
 * prints one JSON line `{ "baseUrl", "model" }` once listening and serves until SIGINT/SIGTERM.
 *
 *   node --conditions=@session-jobs/source --import tsx bench/fakeUpstreamProcess.ts [--seed 1] [--max-tokens 64]
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startFakeUpstream, type FakeUpstream } from "./fakeUpstream.ts";

/** Starts this file as a child process and resolves once it listens; `stop` ends it. */
export async function spawnFakeUpstream(options: {
  seed: number;
  maxTokens: number;
}): Promise<Pick<FakeUpstream, "baseUrl" | "model"> & { stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      "--conditions=@session-jobs/source",
      "--import",
      "tsx",
      fileURLToPath(import.meta.url),
      "--seed",
      String(options.seed),
      "--max-tokens",
      String(options.maxTokens),
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const [line] = await Promise.race([
    createInterface({ input: child.stdout })
      [Symbol.asyncIterator]()
      .next()
      .then((next) => [next.value as string | undefined]),
    exited.then(() => [undefined]),
  ]);
  if (!line) throw new Error("the fake upstream process exited before it listened");
  const { baseUrl, model } = JSON.parse(line) as { baseUrl: string; model: string };
  return {
    baseUrl,
    model,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { seed: { type: "string", default: "1" }, "max-tokens": { type: "string", default: "64" } } });
  const upstream = await startFakeUpstream({ seed: Number(values.seed), defaultMaxTokens: Number(values["max-tokens"]) });
  console.log(JSON.stringify({ baseUrl: upstream.baseUrl, model: upstream.model }));
  const stop = () => void upstream.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
