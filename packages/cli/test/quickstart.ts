import type { ChildProcessByStdio } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

/**
 * The CLI README's "a host and a paid session on a local chain" block, split into the steps a
 * reader types: `export` lines set variables, `VAR=value session-jobs …` runs one command, a
 * trailing `&` runs it in the background. `anvil` and the PATH line are the reader's set-up.
 */
export type QuickstartStep = { env: Record<string, string>; argv: string[]; background: boolean; line: string };

const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

/** The block's text, or undefined when the README lost its `<!-- quickstart -->` marker. */
export const quickstartBlock = /<!-- quickstart -->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];

/** The block's steps, with its anvil (8545) and host (8080) ports replaced by the given ones. */
export function quickstartSteps(text: string, ports: { anvil: string; host: number }): QuickstartStep[] {
  const env: Record<string, string> = {};
  const result: QuickstartStep[] = [];
  for (const raw of text.split("\n")) {
    const line = raw
      .replace(/\s+#.*$/, "")
      .trim()
      .replaceAll("127.0.0.1:8545", `127.0.0.1:${ports.anvil}`)
      .replace(/\b8080\b/g, String(ports.host));
    if (line === "" || line.startsWith("#") || line === "anvil" || line.startsWith("export PATH=")) continue;
    const words = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2]!);
    if (words[0] === "export") {
      for (const assignment of words.slice(1)) env[assignment.split("=")[0]!] = assignment.slice(assignment.indexOf("=") + 1);
      continue;
    }
    const local: Record<string, string> = {};
    while (/^[A-Z_]+=/.test(words[0]!)) {
      const assignment = words.shift()!;
      local[assignment.split("=")[0]!] = assignment.slice(assignment.indexOf("=") + 1);
    }
    if (words[0] !== "session-jobs") throw new Error(`the quickstart runs only session-jobs commands, not: ${line}`);
    const background = words.at(-1) === "&";
    result.push({ env: { ...env, ...local }, argv: words.slice(1, background ? -1 : undefined), background, line });
  }
  return result;
}

/** A free loopback port (the host's, in place of the block's 8080). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once("error", reject);
  });
}

/** Resolves once a background `host start` prints where it serves; rejects if it exits first. */
export function untilServing(child: ChildProcessByStdio<null, Readable, Readable>, line: string): Promise<void> {
  let output = "";
  return new Promise<void>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += String(chunk);
      if (/serving at http/.test(output)) resolve();
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("exit", (code) => reject(new Error(`${line} exited with ${code}:\n${output}`)));
  });
}
