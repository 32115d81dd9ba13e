import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** A Foundry tool shipped as an npm package with a native binary per platform. */
export type FoundryTool = "anvil" | "forge" | "cast";

const require = createRequire(import.meta.url);

const platformSuffixes: Record<string, string> = {
  "linux-x64": "linux-amd64",
  "linux-arm64": "linux-arm64",
  "darwin-x64": "darwin-amd64",
  "darwin-arm64": "darwin-arm64",
  "win32-x64": "win32-amd64",
};

/**
 * Path of the native binary of a Foundry tool. We spawn it directly rather than the `.bin`
 * shim so that killing the child leaves no orphan process behind.
 */
export function foundryBinary(tool: FoundryTool): string {
  const suffix = platformSuffixes[`${process.platform}-${process.arch}`];
  if (!suffix) throw new Error(`Foundry has no binary for ${process.platform}-${process.arch}`);
  // The platform package is an optional dependency of the tool's package: resolve it from there,
  // so it is found wherever npm put it (hoisted, or nested under the tool in an installed tree).
  const toolRequire = createRequire(require.resolve(`@foundry-rs/${tool}/package.json`));
  const manifest = toolRequire.resolve(`@foundry-rs/${tool}-${suffix}/package.json`);
  return join(dirname(manifest), "bin", process.platform === "win32" ? `${tool}.exe` : tool);
}
