/**
 * Checks the committed gas snapshots (snapshots/*.json, written by test/gas in the `gas` profile)
 * against a fresh run, within a tolerance (GAS_SNAPSHOT_TOLERANCE_PERCENT, default 1). Exits 1 on a
 * regression, an improvement beyond the tolerance, or an added or removed entry, and leaves the
 * committed files untouched; `npm run snapshot` accepts the new numbers.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { foundryBinary } from "../ts/foundry.ts";

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const snapshotDir = join(packageRoot, "snapshots");
const tolerancePercent = Number(process.env.GAS_SNAPSHOT_TOLERANCE_PERCENT ?? "1");

function readSnapshots(): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(snapshotDir).filter((file) => file.endsWith(".json"))) {
    files.set(name, readFileSync(join(snapshotDir, name), "utf8"));
  }
  return files;
}

const committed = readSnapshots();
const run = spawnSync(foundryBinary("forge"), ["test"], {
  cwd: packageRoot,
  env: { ...process.env, FOUNDRY_PROFILE: "gas" },
  encoding: "utf8",
});
const fresh = readSnapshots();
for (const [name, text] of committed) writeFileSync(join(snapshotDir, name), text); // keep what is committed
if (run.status !== 0) {
  console.error(run.stdout, run.stderr);
  process.exit(1);
}

const problems: string[] = [];
for (const name of new Set([...committed.keys(), ...fresh.keys()])) {
  const before = JSON.parse(committed.get(name) ?? "{}") as Record<string, string>;
  const after = JSON.parse(fresh.get(name) ?? "{}") as Record<string, string>;
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const old = before[key];
    const now = after[key];
    if (old === undefined || now === undefined) {
      problems.push(`${name} "${key}": ${old ?? "missing"} → ${now ?? "missing"}`);
      continue;
    }
    const change = ((Number(now) - Number(old)) / Number(old)) * 100;
    if (Math.abs(change) > tolerancePercent) {
      problems.push(`${name} "${key}": ${old} → ${now} (${change > 0 ? "+" : ""}${change.toFixed(2)}%)`);
    }
  }
}
if (problems.length > 0) {
  console.error(`Gas snapshots differ by more than ${tolerancePercent}%:\n  ${problems.join("\n  ")}`);
  console.error("If intended, run `npm run snapshot -w packages/contracts` and commit snapshots/.");
  process.exit(1);
}
console.log(`gas snapshots match (tolerance ${tolerancePercent}%)`);
