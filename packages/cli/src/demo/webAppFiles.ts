import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Common } from "../common.ts";
import { CliError } from "../errors.ts";

/** The app's static build that the published package carries (copied by `npm run build`). */
export const packagedWebAppDir = fileURLToPath(new URL("../../web", import.meta.url));

type AppBuilder = { buildApp: () => Promise<void>; appDistDir: string };

// Named through a variable: the app is a private workspace, so the compiled CLI must not depend on
// it; an installed CLI finds no such package and serves its packaged copy instead.
const appBuilderModule = "@session-jobs/app/build";

async function loadAppBuilder(): Promise<AppBuilder | undefined> {
  try {
    return (await import(appBuilderModule)) as AppBuilder;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") return undefined;
    throw error;
  }
}

/**
 * The web app's static files already built, or undefined: the repository's `packages/app/dist`
 * where the app's sources are, else the copy the installed package carries.
 */
export async function builtWebAppDir(): Promise<string | undefined> {
  const dir = (await loadAppBuilder())?.appDistDir ?? packagedWebAppDir;
  return existsSync(join(dir, "index.html")) ? dir : undefined;
}

/**
 * The folder of the web app's static files to serve. In the repository the app's sources are here:
 * they are built first (unless `build: false`, the caller built them) so the demo never serves a
 * stale copy. Installed from npm, the CLI serves the build it carries in `web/`.
 */
export async function webAppFiles(common: Common, options: { build: boolean }): Promise<string> {
  const builder = await loadAppBuilder();
  if (builder) {
    if (options.build) await common.logger.progress("building the web app", () => builder.buildApp());
    return builder.appDistDir;
  }
  if (existsSync(join(packagedWebAppDir, "index.html"))) return packagedWebAppDir;
  throw new CliError(
    `the web app is missing from this install (no ${join(packagedWebAppDir, "index.html")})`,
    "reinstall @session-jobs/cli, or run demo --web from a clone of the repository",
  );
}
