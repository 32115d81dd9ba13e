import { defineConfig } from "vitest/config";
import { resolveSources } from "../../vitest.shared.mts";

export default defineConfig({ ...resolveSources });
