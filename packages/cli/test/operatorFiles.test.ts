import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hostConfigEnv } from "@session-jobs/host";
import { commands } from "../src/commands/index.ts";
import { privateKeyEnv } from "../src/connection.ts";

/**
 * The Dockerfile, the systemd unit and the operator docs name paths, commands, flags and
 * environment variables; nothing here can run Docker or systemd, so each name is checked against
 * the repository and the CLI instead.
 */
const root = fileURLToPath(new URL("../../../", import.meta.url));
const read = (path: string) => readFileSync(join(root, path), "utf8");
/** The `session-jobs` bin (in the repository it runs the sources through tsx, a root devDependency). */
const cliBin = join("packages/cli", (JSON.parse(read("packages/cli/package.json")) as { bin: Record<string, string> }).bin["session-jobs"]!);

const knownEnv = new Set<string>([
  ...Object.values(hostConfigEnv),
  privateKeyEnv,
  ...commands.flatMap((command) => Object.values(command.options).flatMap((option) => (option.env ? [option.env] : []))),
]);
const deprecatedEnv = new Set(["SESSION_JOBS_DEPLOYMENTS", "SESSION_JOBS_DEPLOYER_PRIVATE_KEY"]);

/** The command a `session-jobs …` word list starts with, longest match first. */
function commandOf(words: string[]) {
  return [...commands].sort((a, b) => b.path.length - a.path.length).find((command) => command.path.every((word, index) => words[index] === word));
}

/** Every `session-jobs …` invocation in a text's code: its words after the program name. */
function invocations(text: string): string[][] {
  const code = [...text.matchAll(/```(?:sh|bash|console)?\n([\s\S]*?)```/g)].map((match) => match[1]!).join("\n");
  const lines = code.replace(/\\\n\s*/g, " ").split("\n");
  return lines.flatMap((line) => {
    const match = /^\s*(?:[A-Z_]+=\S+\s+)*(?:npx\s+)?session-jobs\s+(.*)$/.exec(line.replace(/\s+#.*$/, ""));
    if (!match) return [];
    return [[...match[1]!.matchAll(/"[^"]*"|'[^']*'|\S+/g)].map((word) => word[0]).filter((word) => word !== "&")];
  });
}

function expectKnownEnv(text: string, where: string) {
  for (const name of new Set(text.match(/SESSION_JOBS_[A-Z_]+(?![A-Z_*…])/g) ?? []))
    expect(knownEnv.has(name) || deprecatedEnv.has(name), `${where} names ${name}, which nothing reads`).toBe(true);
}

describe("the Dockerfile", () => {
  const dockerfile = read("Dockerfile");

  it("copies paths that exist and runs a real command", () => {
    for (const [, source] of dockerfile.matchAll(/^COPY (\S+(?: \S+)*) \S+$/gm))
      for (const path of source!.split(" ")) expect(existsSync(join(root, path)), `COPY ${path}`).toBe(true);
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(entrypoint.slice(0, 2)).toEqual(["node", cliBin]);
    expect(existsSync(join(root, cliBin)), cliBin).toBe(true);
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(commandOf(cmd)?.path).toEqual(["host", "start"]);
    expect(JSON.parse(read("package.json")).devDependencies.tsx).toBeDefined();
  });

  it("listens where it exposes, checks readiness on a route the node serves, and stops with SIGINT", () => {
    const port = /SESSION_JOBS_HOST_PORT=(\d+)/.exec(dockerfile)![1];
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${port}$`, "m"));
    expect(dockerfile).toContain(`http://127.0.0.1:${port}/ready`);
    expect(read("packages/host/src/http/routes.ts")).toContain('path: "/ready"');
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGINT$/m);
    expect(read("packages/cli/src/cli.ts")).toContain('"SIGINT"');
    expectKnownEnv(dockerfile, "Dockerfile");
  });
});

describe("the systemd unit", () => {
  const unit = read("deploy/systemd/session-jobs-host.service");

  it("runs the CLI from the working directory and stops it with SIGINT", () => {
    const workingDirectory = /^WorkingDirectory=(\S+)$/m.exec(unit)![1]!;
    const execStart = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(" ");
    expect(execStart.slice(0, 2)).toEqual(["/usr/bin/node", `${workingDirectory}/${cliBin}`]);
    expect(existsSync(join(root, cliBin))).toBe(true);
    expect(commandOf(execStart.slice(2))?.path).toEqual(["host", "start"]);
    expect(unit).toMatch(/^KillSignal=SIGINT$/m);
    expect(unit).toMatch(/^StateDirectory=session-jobs$/m);
    expect(unit).toContain("SESSION_JOBS_HOST_DB=/var/lib/session-jobs/");
    expectKnownEnv(unit, "the systemd unit");
  });
});

describe("operator docs", () => {
  const docs = ["docs/host-guide.md", "packages/cli/README.md", "packages/host/README.md", "README.md"];

  it.each(docs)("%s shows only real commands, flags and variables", (path) => {
    const text = read(path);
    for (const words of invocations(text)) {
      if (words[0]?.startsWith("--")) continue; // global: --help, --version
      const command = commandOf(words);
      expect(command, `${path}: session-jobs ${words.join(" ")}`).toBeDefined();
      for (const word of words.slice(command!.path.length))
        if (word.startsWith("--") && word !== "--help" && word !== "--debug")
          // `--json` is added by the program to every command that reports something.
          expect([...Object.keys(command!.options), ...(command!.json === false ? [] : ["json"])], `${path}: session-jobs ${words.join(" ")}`).toContain(
            word.slice(2).split("=")[0],
          );
    }
    expectKnownEnv(text, path);
  });

  it("the host guide names the files the Dockerfile and the unit use", () => {
    const guide = read("docs/host-guide.md");
    for (const name of [
      "deploy/systemd/session-jobs-host.service",
      "/etc/session-jobs/host.toml",
      "/etc/session-jobs/host.env",
      "/var/lib/session-jobs",
      "docker build",
      "host init --preset vllm",
      "host init --preset llama-cpp",
      "host init --preset ollama",
    ])
      expect(guide, name).toContain(name);
  });
});
