import { defineConfig } from "vitest/config";
import { resolveSources } from "../../vitest.shared.mts";

export default defineConfig({
  ...resolveSources,
  test: {
    include: ["src/**/*.test.ts", "server/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    // A page waits on a chain and a host: expect.poll's 1 s default failed on a loaded machine (a reload's resume), never a wrong value.
    expect: { poll: { timeout: 30_000 } },
  },
});
