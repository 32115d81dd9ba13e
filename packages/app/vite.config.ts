import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Relative asset paths: the built folder works from any path on any static host. The deployment
// JSON (chain, RPC, contracts) is read at run time from ./deployment.json, never built in.
export default defineConfig({
  base: "./",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 2000 },
});
