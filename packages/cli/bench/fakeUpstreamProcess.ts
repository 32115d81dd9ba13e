/**
 * The fake upstream as an OS process of its own (a GPU server is not in the client's process):
 * prints one JSON line `{ "baseUrl", "model" }` once listening and serves until SIGINT/SIGTERM.
 *
 *   node --conditions=@session-jobs/source --import tsx bench/fakeUpstreamProcess.ts [--seed 1] [--max-tokens 64]
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { announceAndServe, spawnBenchProcess } from "./benchProcess.ts";
import { startFakeUpstream, type FakeUpstream } from "./fakeUpstream.ts";

/** Starts this file as a child process and resolves once it listens; `stop` ends it. */
export async function spawnFakeUpstream(options: {
  seed: number;
  maxTokens: number;
}): Promise<Pick<FakeUpstream, "baseUrl" | "model"> & { stop: () => Promise<void> }> {
  const { announced, stop } = await spawnBenchProcess<Pick<FakeUpstream, "baseUrl" | "model">>(fileURLToPath(import.meta.url), [
    "--seed",
    String(options.seed),
    "--max-tokens",
    String(options.maxTokens),
  ]);
  return { ...announced, stop };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { seed: { type: "string", default: "1" }, "max-tokens": { type: "string", default: "64" } } });
  const upstream = await startFakeUpstream({ seed: Number(values.seed), defaultMaxTokens: Number(values["max-tokens"]) });
  announceAndServe({ baseUrl: upstream.baseUrl, model: upstream.model }, upstream.close);
}
