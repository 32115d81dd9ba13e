import { defineConfig } from "vitest/config";
import { resolveSources } from "../../vitest.shared.mts";

export default defineConfig({
  ...resolveSources,
  test: {
    include: ["testTs/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
