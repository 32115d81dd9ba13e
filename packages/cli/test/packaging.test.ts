import { execFile, spawn, type ChildProcessByStdio } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, quickstartBlock, quickstartSteps, untilServing } from "./quickstart.ts";

/**
 * The packages as a stranger gets them: build, `npm pack` every publishable workspace, install the
 * tarballs into an empty folder outside the repository, and run the CLI and the SDK from there.
 * Slow (a full build, and npm compiles better-sqlite3 from source): several minutes.
 */
const root = fileURLToPath(new URL("../../../", import.meta.url));
const minutes = 60_000;

type Manifest = {
  name: string;
  version: string;
  private?: boolean;
  bin?: Record<string, string>;
  exports?: Record<string, string | Record<string, string>>;
  overrides?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};
type PackedFile = { path: string; size: number };
type Packed = { name: string; filename: string; size: number; files: PackedFile[] };

const readManifest = (dir: string) => JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as Manifest;
const rootManifest = readManifest(".");
const workspaces = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { workspaces: string[] }).workspaces.map((dir) => ({
  dir,
  manifest: readManifest(dir),
}));
const publishable = workspaces.filter((workspace) => !workspace.manifest.private);

// Nothing from an enclosing `npm test` (its workspace and package variables would point npm back at
// the repository); the user's cache and registry settings stay.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith("npm_") || key === "npm_config_cache" || key === "npm_config_registry"),
);

type Result = { code: number; output: string };

function run(command: string, args: string[], cwd: string, timeoutMs = 10 * minutes, extraEnv: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...env, ...extraEnv }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

async function succeed(command: string, args: string[], cwd: string, timeoutMs?: number): Promise<string> {
  const result = await run(command, args, cwd, timeoutMs);
  if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.code}:\n${result.output.slice(-4000)}`);
  return result.output;
}

/**
 * `npx --no -- session-jobs …` in the install folder: never fetches a package, and every flag after
 * `--` is the CLI's (`npx --no session-jobs --version` prints npm's own version).
 */
const sessionJobs = (args: string[], timeoutMs?: number) => succeed("npx", ["--no", "--", "session-jobs", ...args], consumer, timeoutMs);

/** Every file an `exports` entry or a `bin` names, so that none can be left out of `files`. */
function namedFiles(manifest: Manifest): string[] {
  const targets = Object.values(manifest.exports ?? {}).flatMap((target) =>
    typeof target === "string"
      ? [target]
      : Object.entries(target)
          .filter(([condition]) => condition !== "@session-jobs/source")
          .map(([, path]) => path),
  );
  return [...targets, ...Object.values(manifest.bin ?? {})].map((path) => path.replace(/^\.\//, ""));
}

/** Files read at run time that no `exports` entry names: the embedded model's weights, the web app. */
const runtimeFiles: Record<string, string[]> = {
  "@session-jobs/inference": ["models/kjv-bpe-llama.gguf"],
  "@session-jobs/cli": ["web/index.html"],
};

/** The source file a compiled `dist/` file comes from (the package's tsconfig.build.json rootDir). */
function sourceOf(dir: string, path: string): string {
  const { rootDir } = (JSON.parse(readFileSync(join(root, dir, "tsconfig.build.json"), "utf8")) as { compilerOptions: { rootDir: string } }).compilerOptions;
  return join(root, dir, rootDir, path.slice("dist/".length).replace(/(\.d\.ts|\.js)$/, ".ts"));
}

let work: string;
let consumer: string;
let packed: Packed[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "session-jobs-packages-"));
  expect(relative(root, work).startsWith("..")).toBe(true);
  await succeed("npm", ["run", "build"], root, 15 * minutes);
  const tarballs = join(work, "tarballs");
  mkdirSync(tarballs);
  const workspaceArgs = publishable.flatMap((workspace) => ["-w", workspace.dir]);
  packed = JSON.parse(await succeed("npm", ["pack", "--json", "--pack-destination", tarballs, ...workspaceArgs], root)) as Packed[];

  // An empty project, CPU-only like the repository: its overrides keep npm from fetching
  // llama.cpp's CUDA and Vulkan builds (hundreds of MB), and better-sqlite3 may build itself.
  consumer = join(work, "consumer");
  mkdirSync(consumer);
  const overrides = Object.fromEntries(Object.entries(rootManifest.overrides ?? {}).map(([name, spec]) => [name, spec.replace(/^file:\.\//, `file:${root}`)]));
  writeFileSync(
    join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module", overrides, allowScripts: rootManifest.allowScripts }, null, 2),
  );
  await succeed(
    "npm",
    ["install", "--no-audit", "--no-fund", "--prefer-offline", ...packed.map((pack) => join(tarballs, pack.filename))],
    consumer,
    15 * minutes,
  );
}, 30 * minutes);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
}, 5 * minutes);

describe("the packed packages, installed outside the repository", { timeout: 5 * minutes }, () => {
  it("are every workspace but the private web app, each with its LICENSE, every file its exports and bin name and the files it reads at run time, no sources", () => {
    expect(publishable.map((workspace) => workspace.manifest.name)).toContain("@session-jobs/cli");
    expect(workspaces.filter((workspace) => workspace.manifest.private).map((workspace) => workspace.manifest.name)).toEqual(["@session-jobs/app"]);
    expect(packed.map((pack) => pack.name).sort()).toEqual(publishable.map((workspace) => workspace.manifest.name).sort());
    for (const workspace of publishable) {
      const paths = packed.find((pack) => pack.name === workspace.manifest.name)!.files.map((file) => file.path);
      for (const path of ["LICENSE", "README.md", "package.json", ...namedFiles(workspace.manifest), ...(runtimeFiles[workspace.manifest.name] ?? [])])
        expect(paths, `${workspace.manifest.name}: ${path}`).toContain(path);
      expect(
        paths.filter((path) => path.endsWith(".test.js") || path.startsWith("src/") || (path.endsWith(".ts") && !path.endsWith(".d.ts"))),
        workspace.manifest.name,
      ).toEqual([]);
      // Nothing stale: every compiled file comes from a source that exists now (a renamed module's old output must not ship).
      expect(
        paths.filter((path) => path.startsWith("dist/") && !existsSync(sourceOf(workspace.dir, path))),
        workspace.manifest.name,
      ).toEqual([]);
    }
  });

  it("session-jobs --version runs the compiled CLI, with no tsx installed", async () => {
    expect(existsSync(join(consumer, "node_modules", "tsx"))).toBe(false);
    expect((await sessionJobs(["--version"])).trim()).toBe(readManifest("packages/cli").version);
  });

  it("session-jobs demo runs a whole paid session (chain, contracts, host, embedded model) and prints the settlement", async () => {
    const output = await sessionJobs(["demo"], 4 * minutes);
    expect(output).toContain("Settlement");
    expect(output).toMatch(/exact: payment \+ refund = deposit/);
    expect(output).toMatch(/tokens proven on chain\s+[1-9]\d*/);
  });

  it("the CLI README's quickstart runs as written with the installed CLI and anvil: deploy, host init, register, start, a paid session", async () => {
    expect(quickstartBlock, "packages/cli/README.md has a <!-- quickstart --> sh block").toBeDefined();
    // `export PATH=…/node_modules/.bin:$PATH`, as the README has it, but the install's bin folder.
    const bin = join(consumer, "node_modules", ".bin");
    const dir = join(work, "quickstart");
    mkdirSync(dir);
    const shellEnv = { ...env, CI: "true", PATH: `${bin}:${process.env.PATH ?? ""}`, SESSION_JOBS_SESSIONS_DIR: join(dir, "sessions") };
    const anvilPort = await freePort();
    const children: ChildProcessByStdio<null, Readable, Readable>[] = [];
    const background = (command: string, args: string[], extra: Record<string, string>) => {
      const child = spawn(join(bin, command), args, { cwd: dir, env: { ...shellEnv, ...extra }, stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      return child;
    };
    try {
      const anvil = background("anvil", ["--port", String(anvilPort)], {});
      await new Promise<void>((resolve, reject) => {
        anvil.stdout.on("data", (chunk: Buffer) => String(chunk).includes("Listening on") && resolve());
        anvil.once("exit", (code) => reject(new Error(`anvil exited with ${code}`)));
      });
      const outputs: string[] = [];
      for (const step of quickstartSteps(quickstartBlock!, { anvil: String(anvilPort), host: await freePort() })) {
        if (step.background) {
          await untilServing(background("session-jobs", step.argv, step.env), step.line);
          continue;
        }
        const result = await run(join(bin, "session-jobs"), step.argv, dir, 3 * minutes, step.env);
        expect(result.code, `${step.line}\n${result.output}`).toBe(0);
        outputs.push(result.output);
      }
      expect(outputs.at(-1)).toMatch(/tokens proven on chain\s+[1-9]\d*\n/);
    } finally {
      for (const child of children) child.kill("SIGINT");
      await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve)))));
    }
  });

  it("the SDK imports from node_modules, and its types check in a TypeScript project", async () => {
    const check =
      "import('@session-jobs/sdk').then((sdk) => { if (typeof sdk.openSession !== 'function' || !sdk.jobMarketplaceWithModelsAbi.some((item) => item.name === 'createSessionJob')) process.exit(1); console.log('sdk ok'); })";
    expect(await succeed(process.execPath, ["-e", check], consumer)).toContain("sdk ok");
    writeFileSync(
      join(consumer, "consumer.ts"),
      [
        'import { openSession, type BaseError } from "@session-jobs/sdk";',
        'import { embeddedModelInfo } from "@session-jobs/inference";',
        "export const open: typeof openSession = openSession;",
        "export const modelPath: string = embeddedModelInfo.path;",
        "export type Failure = BaseError;",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ["consumer.ts"],
      }),
    );
    await succeed(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", consumer], consumer);
  });
});
