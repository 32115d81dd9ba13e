#!/usr/bin/env node
// The `session-jobs` command: runs the TypeScript CLI through tsx, resolved from this file's own
// install rather than by `npx`, so it works from any folder and npm prints nothing of its own.
import { register } from "tsx/esm/api";

register();
await import("../src/bin.ts");
