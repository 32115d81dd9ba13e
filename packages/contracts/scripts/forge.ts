/**
 * Runs the native forge binary with the given arguments and exits with its exit code. The
 * `@foundry-rs/forge` npm wrapper exits 0 even when a test fails, so every script and CI step
 * goes through this instead.
 */
import { spawnSync } from "node:child_process";
import { foundryBinary } from "../ts/foundry.ts";

const run = spawnSync(foundryBinary("forge"), process.argv.slice(2), { stdio: "inherit" });
if (run.error) {
  console.error(`forge could not be started: ${run.error.message}`);
  process.exit(1);
}
process.exit(run.status ?? 1);
