/**
 * TEST HELPER: one host node in its own process, for tests that run several on one PostgreSQL
 * store. Reads its configuration (JSON `HostConfigInput`) from TEST_HOST_CONFIG, serves the test
 * backend (TEST_HOST_TOKEN_DELAY_MS between tokens), prints `{"url":…,"pid":…}` on one line once it serves, and stops on SIGTERM.
 */
import { createCommon } from "../common.ts";
import { resolveHostConfig } from "../config/config.ts";
import { createHostNode } from "../node.ts";
import { createTestBackend } from "./testBackend.ts";

const config = resolveHostConfig(JSON.parse(process.env.TEST_HOST_CONFIG ?? "{}"));
const node = createHostNode({
  common: createCommon({ logLevel: "warn" }),
  config,
  backend: createTestBackend({ tokenDelayMs: Number(process.env.TEST_HOST_TOKEN_DELAY_MS ?? 0) }),
  shutdownGraceMs: 500,
  submitterTickMs: 200,
  leaderRetryMs: 200,
});
const url = await node.start();
process.stdout.write(`${JSON.stringify({ url, pid: process.pid })}\n`);
process.once("SIGTERM", () => void node.stop().then(() => process.exit(0)));
