import { parseArgs, type ParseArgsConfig } from "node:util";
import type { Common } from "./common.ts";
import { CliError } from "./errors.ts";

/** Option values after parsing: strings for valued options, booleans for flags. */
export type OptionValues = Record<string, string | boolean | undefined>;

type OptionSpec = NonNullable<ParseArgsConfig["options"]>[string] & { description: string; env?: string };

/** One CLI command: its words (`["host", "register"]`), options and what it does. */
export type Command = {
  path: readonly string[];
  summary: string;
  options: Record<string, OptionSpec>;
  run: (common: Common, values: OptionValues) => Promise<void>;
};

/** Parses `argv` for `command`, filling unset options from their environment variables. */
export function parseCommandOptions(command: Command, argv: string[], env: NodeJS.ProcessEnv): OptionValues {
  const options = Object.fromEntries(
    Object.entries(command.options).map(([name, { description: _description, env: _env, ...parseSpec }]) => [name, parseSpec]),
  ) as ParseArgsConfig["options"];
  let values: OptionValues;
  try {
    ({ values } = parseArgs({ args: argv, options, allowPositionals: false, strict: true }) as { values: OptionValues });
  } catch (error) {
    throw new CliError((error as Error).message, `see: session-jobs ${command.path.join(" ")} --help`);
  }
  for (const [name, spec] of Object.entries(command.options)) {
    if (values[name] === undefined && spec.env && env[spec.env] !== undefined) {
      values[name] = spec.type === "boolean" ? env[spec.env] === "true" || env[spec.env] === "1" : env[spec.env];
    }
  }
  return values;
}

/** Help text for one command. */
export function commandHelp(command: Command): string {
  const flags = Object.entries(command.options).map(([name, spec]) => ({
    flag: `  --${name}${spec.type === "string" ? ` <${name}>` : ""}`,
    text: `${spec.description}${spec.env ? ` [env ${spec.env}]` : ""}`,
  }));
  const width = Math.max(0, ...flags.map(({ flag }) => flag.length)) + 3;
  return [`session-jobs ${command.path.join(" ")}: ${command.summary}`, "", "options:", ...flags.map(({ flag, text }) => flag.padEnd(width) + text)].join("\n");
}

/** Reads a required string option or explains which flag (or variable) is missing. */
export function requireString(command: Command, values: OptionValues, name: string): string {
  const value = values[name];
  if (typeof value === "string" && value.length > 0) return value;
  const env = command.options[name]?.env;
  throw new CliError(`missing --${name}${env ? ` (or ${env})` : ""}`, `see: session-jobs ${command.path.join(" ")} --help`);
}
