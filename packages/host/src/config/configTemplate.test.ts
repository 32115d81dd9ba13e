import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadHostConfig } from "./config.ts";
import { knownConfigKeys } from "./configSchema.ts";
import { backendPresets, hostConfigTemplate, type BackendPreset } from "./configTemplate.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

const key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const model = `0x${"ab".repeat(32)}`;

/** A folder with a deployment file, as `session-jobs deploy --out` writes it. */
function folderWithDeployment() {
  const dir = tempDir("host-template-");
  writeFileSync(
    join(dir, "deployment.json"),
    JSON.stringify({
      chainId: 84532,
      jobMarketplace: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      nodeRegistry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    }),
  );
  return dir;
}

function template(preset: BackendPreset) {
  return hostConfigTemplate({
    preset,
    rpcUrl: "https://sepolia.base.org",
    deployments: "deployment.json",
    models: [model],
    publicUrl: "https://host.example.com",
    minPricePerToken: 2000n,
    port: 8080,
    ...(preset !== "embedded" && { backendUrl: backendPresets[preset].url ?? "http://10.0.0.2:9000/v1", backendModel: "some-model" }),
  });
}

describe("host init's template", () => {
  it.each(Object.keys(backendPresets) as BackendPreset[])("is a valid config for the %s preset", (preset) => {
    const dir = folderWithDeployment();
    const path = join(dir, "host.toml");
    writeFileSync(path, template(preset));
    const config = loadHostConfig({ path, env: { SESSION_JOBS_HOST_PRIVATE_KEY: key } });
    expect(config.models).toEqual([model]);
    expect(config.chainId).toBe(84532);
    expect(config.backend.type).toBe(preset === "embedded" ? "embedded" : "upstream");
  });

  it("names every setting the schema knows, so that adding one means documenting it", () => {
    const text = (Object.keys(backendPresets) as BackendPreset[]).map(template).join("\n");
    const missing = knownConfigKeys.filter((path) => !new RegExp(`(^|\\n)#?\\s*\\[?${path.split(".").at(-1)}\\]?\\s*(=|\\n|:|\\s)`).test(text));
    expect(missing).toEqual([]);
  });
});

describe("the host README", () => {
  it("shows a config file that loads as written", () => {
    const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
    const toml = /```toml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(toml).toBeDefined();
    const dir = folderWithDeployment();
    const path = join(dir, "host.toml");
    writeFileSync(path, toml!);
    expect(() => loadHostConfig({ path, env: { SESSION_JOBS_HOST_PRIVATE_KEY: key } })).not.toThrow();
  });
});
