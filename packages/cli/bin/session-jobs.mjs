#!/usr/bin/env node
// The `session-jobs` command. Installed from npm it runs the compiled dist/ (no tsx needed). In the
// repository, where src/ sits beside this file (src/ is not published), it runs the TypeScript
// sources through tsx with every workspace package resolved to its sources too, so nothing needs
// building first. tsx is resolved from this file's own install, not by `npx`, so it works from any
// folder and npm prints nothing of its own.
import { existsSync } from "node:fs";
import { register } from "node:module";

const source = new URL("../src/bin.ts", import.meta.url);
if (existsSync(source)) {
  register("./sourceCondition.mjs", import.meta.url);
  const tsx = await import("tsx/esm/api");
  tsx.register();
  await import(source.href);
} else {
  await import("../dist/bin.js");
}
