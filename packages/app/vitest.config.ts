import { defineConfig } from "vitest/config";
import { resolveSources } from "../../vitest.shared.mts";

export default defineConfig({
  ...resolveSources,
  test: { include: ["src/**/*.test.ts", "server/**/*.test.ts", "test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 180_000, fileParallelism: false },
});
