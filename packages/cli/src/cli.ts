import type { Writable } from "node:stream";
import { commandHelp, parseCommandOptions, type Command } from "./command.ts";
import { createLogger, type Common } from "./common.ts";
import { commands } from "./commands/index.ts";
import { formatError } from "./errors.ts";

type CliStreams = { stdout: Writable & { isTTY?: boolean }; stderr: Writable & { isTTY?: boolean }; env: NodeJS.ProcessEnv };

function overview(): string {
  const width = Math.max(...commands.map((command) => command.path.join(" ").length)) + 4;
  return [
    "session-jobs: LLM inference paid through an on-chain escrow with signed receipts",
    "",
    "usage: session-jobs <command> [options]     (--help after a command for its options)",
    "",
    ...commands.map((command) => `  ${command.path.join(" ").padEnd(width)}${command.summary}`),
    "",
    "global: --debug prints stack traces",
  ].join("\n");
}

/** Finds the command whose words prefix `argv` (longest match wins). */
function matchCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  const ranked = [...commands].sort((a, b) => b.path.length - a.path.length);
  for (const command of ranked) {
    if (command.path.every((word, index) => argv[index] === word)) return { command, rest: argv.slice(command.path.length) };
  }
  return undefined;
}

/** Runs the CLI and returns its exit code; never throws. */
export async function runCli(argv: string[], streams: CliStreams): Promise<number> {
  const debug = argv.includes("--debug");
  const args = argv.filter((arg) => arg !== "--debug");
  if (args.length === 0 || args[0] === "--help" || args[0] === "help") {
    streams.stdout.write(`${overview()}\n`);
    return 0;
  }
  const matched = matchCommand(args);
  if (!matched) {
    streams.stderr.write(`error: unknown command "${args.join(" ")}"\n\n${overview()}\n`);
    return 2;
  }
  if (matched.rest.includes("--help")) {
    streams.stdout.write(`${commandHelp(matched.command)}\n`);
    return 0;
  }
  const abort = new AbortController();
  const onSigint = () => abort.abort(new Error("interrupted"));
  process.once("SIGINT", onSigint);
  const common: Common = { env: streams.env, logger: createLogger(streams.stdout, streams.stderr, streams.env), signal: abort.signal, debug };
  try {
    const values = parseCommandOptions(matched.command, matched.rest, streams.env);
    await matched.command.run(common, values);
    return 0;
  } catch (error) {
    streams.stderr.write(`error: ${formatError(error, debug)}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
