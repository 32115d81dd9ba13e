import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Loading the model and spawning llama.cpp threads takes a moment on a loaded 2-core CI machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    include: ["src/**/*.test.ts", "training/**/*.test.ts"],
  },
});
