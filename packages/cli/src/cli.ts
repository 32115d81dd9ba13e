import type { Writable } from "node:stream";
import { CommanderError } from "commander";
import { createLogger, type Common } from "./common.ts";
import { commands } from "./commands/index.ts";
import { formatError, UsageError } from "./errors.ts";
import { plainText } from "./terminalText.ts";
import { buildProgram, type Invocation } from "./program.ts";

type CliStreams = { stdout: Writable & { isTTY?: boolean }; stderr: Writable & { isTTY?: boolean }; env: NodeJS.ProcessEnv };

/**
 * Exit codes: 0 success (and help, version); 1 the command failed (bad values, chain or host
 * errors, a session that does not exist); 2 the command line itself is wrong (unknown command or
 * option, missing option value, a required option left out); 130 interrupted.
 */
export const exitCodes = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** `help a b` is `a b --help`, so help reaches any depth. */
function rewriteHelp(argv: string[]): string[] {
  return argv[0] === "help" && argv.length > 1 ? [...argv.slice(1), "--help"] : argv;
}

/** Runs the CLI and returns its exit code; never throws. */
export async function runCli(argv: string[], streams: CliStreams): Promise<number> {
  const debug = argv.includes("--debug");
  let invocation: Invocation | undefined;
  const program = buildProgram(commands, streams, (chosen) => (invocation = chosen));
  const args = rewriteHelp(argv.filter((arg) => arg !== "--debug"));
  // Nothing, or a group on its own (`session-jobs client`), is a request for help, not a mistake.
  const group = args.length === 1 ? program.commands.find((command) => command.name() === args[0] && command.commands.length > 0) : undefined;
  if (args.length === 0 || group) {
    (group ?? program).outputHelp();
    return exitCodes.ok;
  }
  try {
    program.parse(args, { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help")
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    return exitCodes.usage;
  }
  if (!invocation) return exitCodes.usage;
  const { command, values, json } = invocation;
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error("interrupted"));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const common: Common = { env: streams.env, logger: createLogger(streams.stdout, streams.stderr, streams.env, { json }), signal: abort.signal, debug };
  try {
    await command.run(common, values);
    return exitCodes.ok;
  } catch (error) {
    // An error can carry what a host said (its refusal's message): printed without terminal control.
    streams.stderr.write(`error: ${plainText(formatError(error, debug, common.chainId))}\n`);
    if (abort.signal.aborted) return exitCodes.interrupted;
    return error instanceof UsageError ? exitCodes.usage : exitCodes.failed;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
