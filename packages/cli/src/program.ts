import { readFileSync } from "node:fs";
import type { Writable } from "node:stream";
import { Command as Commander, Option } from "commander";
import { applyEnvironment, type Command, type OptionValues } from "./command.ts";

/** What each command group is for, shown by `session-jobs <group> --help`. */
const groupSummaries: Record<string, string> = {
  client: "use hosts: find them, open sessions, chat, close, recover stranded funds",
  host: "run a host: register, serve, earnings and withdrawals",
  model: "manage the ModelRegistry (owner)",
  treasury: "the marketplace's fee treasury",
  dev: "development-chain helpers",
};

/** The CLI's version, read from its package.json (one folder up, in source and in a build alike). */
export function cliVersion(): string {
  return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

export type Invocation = { command: Command; values: OptionValues; json: boolean };

type ProgramOutput = { stdout: Writable; stderr: Writable; env: NodeJS.ProcessEnv };

/**
 * Builds the commander program from the command table: groups from the first word of each path,
 * one leaf per command, `-h/--help` everywhere, `--json` where a command reports something, and
 * unset options filled from their environment variables. The chosen command is handed to
 * `onInvoke` rather than run here, so the caller owns cancellation and error rendering.
 */
export function buildProgram(commands: readonly Command[], output: ProgramOutput, onInvoke: (invocation: Invocation) => void): Commander {
  const program = new Commander("session-jobs")
    .description("LLM inference paid through an on-chain escrow with signed receipts")
    .version(cliVersion(), "-v, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .helpCommand("help [command...]", "show help for a command")
    .option("--debug", "print stack traces with errors")
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => output.stdout.write(text),
      writeErr: (text) => output.stderr.write(text),
      // One line per error, as every other CLI error: commander puts its suggestion on a line of its own.
      outputError: (text, write) => write(`${text.trimEnd().replaceAll("\n", " ")} (add --help for usage)\n`),
    });

  const groups = new Map<string, Commander>();
  const parentOf = (path: readonly string[]): Commander => {
    if (path.length === 1) return program;
    const name = path[0]!;
    let group = groups.get(name);
    if (!group) {
      group = program.command(name).description(groupSummaries[name] ?? name);
      groups.set(name, group);
    }
    return group;
  };

  for (const command of commands) {
    const leaf = parentOf(command.path).command(command.path.at(-1)!).description(command.summary);
    const attributes = new Map<string, string>();
    for (const [name, spec] of Object.entries(command.options)) {
      const flags = `${spec.short ? `-${spec.short}, ` : ""}--${name}${spec.type === "string" ? ` <${name}>` : ""}`;
      const option = new Option(flags, `${spec.description}${spec.env ? ` [env ${spec.env}]` : ""}`);
      attributes.set(name, option.attributeName());
      leaf.addOption(option);
    }
    const json = command.json !== false;
    if (json) leaf.option("--json", "print the result as JSON on stdout");
    leaf.action((parsed: Record<string, string | boolean | undefined>) => {
      const values: OptionValues = {};
      for (const [name, attribute] of attributes) values[name] = parsed[attribute];
      onInvoke({ command, values: applyEnvironment(command, values, output.env), json: json && parsed.json === true });
    });
  }
  return program;
}
