import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The @foundry-rs npm wrappers exit 0 on a failing test; scripts/forge.ts must not.
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const runner = join(packageRoot, "scripts", "forge.ts");
const tsx = join(packageRoot, "..", "..", "node_modules", ".bin", "tsx");

let project: string;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), "forge-runner-"));
  cpSync(join(packageRoot, "testTs", "fixtures", "failingProject"), project, { recursive: true });
  const forgeStd = join(packageRoot, "..", "..", "node_modules", "@layerzerolabs", "toolbox-foundry", "lib", "forge-std");
  writeFileSync(
    join(project, "foundry.toml"),
    [
      "[profile.default]",
      'src = "test"',
      `solc = "${join(packageRoot, "bin", "solc")}"`,
      "offline = true",
      "auto_detect_solc = false",
      `remappings = ["forge-std/=${forgeStd}/"]`,
      "",
    ].join("\n"),
  );
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

function forge(...args: string[]) {
  return spawnSync(tsx, [runner, ...args], { cwd: project, encoding: "utf8" });
}

describe("scripts/forge.ts", () => {
  it("exits non-zero when a Solidity test fails", () => {
    const run = forge("test");
    expect(run.stdout + run.stderr).toContain("test_alwaysFails");
    expect(run.status).not.toBe(0);
  });

  it("exits non-zero when forge fmt --check finds unformatted code", () => {
    writeFileSync(join(project, "test", "Unformatted.sol"), "pragma solidity 0.8.30;\ncontract   U{ }\n");
    expect(forge("fmt", "--check", "test").status).not.toBe(0);
  });

  it("exits zero when forge succeeds", () => {
    expect(forge("--version").status).toBe(0);
  });
});
