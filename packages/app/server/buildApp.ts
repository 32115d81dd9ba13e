import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Where {@link buildApp} writes the static app. */
export const appDistDir = resolve(appRoot, "dist");

/** Builds the app into `dist/` (what `npm run build -w packages/app` does), quietly; a few seconds. */
export async function buildApp(): Promise<void> {
  const { build } = await import("vite");
  await build({ root: appRoot, configFile: resolve(appRoot, "vite.config.ts"), logLevel: "warn" });
}
