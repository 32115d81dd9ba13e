import { defineConfig } from "vitest/config";
import { resolveSources } from "../../vitest.shared.mts";

export default defineConfig({
  ...resolveSources,
  test: {
    // Loading the model and spawning llama.cpp threads takes a moment on a loaded 2-core CI machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    include: ["src/**/*.test.ts", "training/**/*.test.ts"],
  },
});
