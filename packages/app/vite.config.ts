import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import { resolveSources } from "../../vitest.shared.mts";
import { contentSecurityPolicyMeta } from "./server/contentSecurityPolicyMeta.ts";

// Relative asset paths: the built folder works from any path on any static host. The deployment
// JSON (chain, RPC, contracts) is read at run time from ./deployment.json, never built in.
export default defineConfig({
  resolve: resolveSources.resolve,
  base: "./",
  plugins: [react(), contentSecurityPolicyMeta()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 2000 },
});
