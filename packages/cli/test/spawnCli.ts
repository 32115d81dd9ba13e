import { spawn, type ChildProcessByStdio, type SpawnOptions } from "node:child_process";
import { createRequire } from "node:module";
import type { Readable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";

const cliSource = fileURLToPath(new URL("../src/bin.ts", import.meta.url));
/** tsx by its resolved URL, so that the child loads it from whatever folder it runs in. */
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/**
 * The CLI run from its sources in a child process (what a user gets from `session-jobs …`),
 * stdout and stderr piped, stdin ignored. `nodeArgs` go before the script (e.g. `--cpu-prof`).
 */
export function spawnCli(
  argv: readonly string[],
  options: Omit<SpawnOptions, "stdio"> & { nodeArgs?: readonly string[] } = {},
): ChildProcessByStdio<null, Readable, Readable> {
  const { nodeArgs = [], ...spawnOptions } = options;
  return spawn(process.execPath, [...nodeArgs, "--conditions=@session-jobs/source", "--import", tsx, cliSource, ...argv], {
    ...spawnOptions,
    stdio: ["ignore", "pipe", "pipe"],
  });
}
