import type { Common } from "./common.ts";
import { UsageError } from "./errors.ts";

/** Option values after parsing: strings for valued options, booleans for flags. */
export type OptionValues = Record<string, string | boolean | undefined>;

/** One option of a command: `--name <value>` (string) or `--name` (boolean). */
export type OptionSpec = { type: "string" | "boolean"; description: string; env?: string; short?: string };

/** One CLI command: its words (`["host", "register"]`), options and what it does. */
export type Command = {
  path: readonly string[];
  summary: string;
  options: Record<string, OptionSpec>;
  /** Whether `--json` is offered (default true): the command then prints one JSON result on stdout. */
  json?: boolean;
  run: (common: Common, values: OptionValues) => Promise<void>;
};

/** Fills options left unset from their environment variables (read from `env`, not `process.env`). */
export function applyEnvironment(command: Command, values: OptionValues, env: NodeJS.ProcessEnv): OptionValues {
  const filled = { ...values };
  for (const [name, spec] of Object.entries(command.options)) {
    const fromEnv = spec.env === undefined ? undefined : env[spec.env];
    if (filled[name] === undefined && fromEnv !== undefined) filled[name] = spec.type === "boolean" ? fromEnv === "true" || fromEnv === "1" : fromEnv;
  }
  return filled;
}

/** Reads a required string option or explains which flag (or variable) is missing. */
export function requireString(command: Command, values: OptionValues, name: string): string {
  const value = values[name];
  if (typeof value === "string" && value.length > 0) return value;
  const env = command.options[name]?.env;
  throw new UsageError(`missing --${name}${env ? ` (or ${env})` : ""}`, `see: session-jobs ${command.path.join(" ")} --help`);
}
