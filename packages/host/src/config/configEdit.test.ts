import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { updateConfigFile } from "./configEdit.ts";
import { ConfigError } from "../errors.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

const model = `0x${"ab".repeat(32)}`;
const other = `0x${"cd".repeat(32)}`;

function file(name: string, text: string) {
  const path = join(tempDir("host-config-edit-"), name);
  writeFileSync(path, text);
  return path;
}

describe("updateConfigFile", () => {
  it("replaces values in place and keeps comments, also a multi-line array", () => {
    const path = file(
      "host.toml",
      `# my host
rpcUrl = "http://127.0.0.1:8545"
models = [
  "${model}",   # the first model
]
publicUrl = "http://old.example" # registered

[pricing]
minPricePerToken = 2000 # USDC units
`,
    );
    chmodSync(path, 0o600);
    updateConfigFile(path, { models: [model, other], publicUrl: "https://new.example", "pricing.minPricePerToken": 1500n });
    const text = readFileSync(path, "utf8");
    expect(text).toContain("# my host");
    expect(text).toContain("minPricePerToken = 1500");
    expect(parse(text)).toEqual({
      rpcUrl: "http://127.0.0.1:8545",
      models: [model, other],
      publicUrl: "https://new.example",
      pricing: { minPricePerToken: 1500 },
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("adds keys to their table, creates a missing table, and writes big integers as strings", () => {
    const path = file("host.toml", `rpcUrl = "http://127.0.0.1:8545"\n\n[backend]\ntype = "embedded"\n`);
    updateConfigFile(path, { publicUrl: "https://host.example", "pricing.minPricePerTokenNative": 10n ** 20n, "backend.threads": 2 });
    expect(parse(readFileSync(path, "utf8"))).toEqual({
      rpcUrl: "http://127.0.0.1:8545",
      publicUrl: "https://host.example",
      backend: { type: "embedded", threads: 2 },
      pricing: { minPricePerTokenNative: "100000000000000000000" },
    });
  });

  it("rewrites a JSON file", () => {
    const path = file("host.json", JSON.stringify({ rpcUrl: "http://127.0.0.1:8545", pricing: { minPricePerToken: "2000" } }));
    updateConfigFile(path, { "pricing.minPricePerToken": 1500n });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ rpcUrl: "http://127.0.0.1:8545", pricing: { minPricePerToken: 1500 } });
  });

  it("edits a TOML file named neither .toml nor .json as TOML, keeping its comments", () => {
    const path = file("host.conf", '# mine\nrpcUrl = "http://127.0.0.1:8545" # local\n\n[pricing]\nminPricePerToken = 2_000\n');
    updateConfigFile(path, { "pricing.minPricePerToken": 1500n });
    const text = readFileSync(path, "utf8");
    expect(text).toContain("# mine\n");
    expect(text).toContain("# local");
    expect(parse(text)).toEqual({ rpcUrl: "http://127.0.0.1:8545", pricing: { minPricePerToken: 1500 } });
  });

  it("writes nothing when the edit would not give exactly the asked settings", () => {
    const text = `rpcUrl = "http://127.0.0.1:8545"\npricing.minPricePerToken = 2000\n`;
    const path = file("host.toml", text);
    expect(() => updateConfigFile(path, { "pricing.minPricePerToken": 1500n })).toThrow(ConfigError);
    expect(readFileSync(path, "utf8")).toBe(text);
  });
});
