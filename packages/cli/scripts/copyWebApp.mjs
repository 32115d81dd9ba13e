// Copies the web app's static build (packages/app/dist) into web/, so that `session-jobs demo --web`
// works from an installed CLI, where the app's sources and build tools are not.
import { cpSync, existsSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const from = fileURLToPath(new URL("../../app/dist/", import.meta.url));
const to = fileURLToPath(new URL("../web/", import.meta.url));
if (!existsSync(`${from}index.html`)) {
  console.error(`no web app build in ${from}: run \`npm run build -w packages/app\` first (the root \`npm run build\` does)`);
  process.exit(1);
}
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
