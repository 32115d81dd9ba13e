import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import { ConfigError } from "../errors.ts";

/** A config file's content, its format, and the line each key is set on (TOML files only). */
export type ConfigFile = { path: string; format: ConfigFormat; input: Record<string, unknown>; lineOf: (key: string) => number | undefined };

export type ConfigFormat = "toml" | "json";

/**
 * How a config file is read: by its extension (`.toml`, `.json`), else by its content (a JSON
 * config is an object, so it starts with `{`; anything else is read as TOML, as `host init` writes
 * it), so that `/etc/session-jobs/host.conf` in TOML works as it is.
 */
export function configFormat(path: string, text: string): ConfigFormat {
  const extension = extname(path).toLowerCase();
  if (extension === ".toml" || extension === ".json") return extension === ".toml" ? "toml" : "json";
  return text
    .replace(/^\uFEFF/, "")
    .trimStart()
    .startsWith("{")
    ? "json"
    : "toml";
}

/** What to do about a file that did not parse, when its name did not say its format. */
function formatHint(path: string, format: ConfigFormat): string {
  const extension = extname(path).toLowerCase();
  if (extension === ".toml" || extension === ".json") return "";
  return ` (read as ${format === "toml" ? "TOML, since it does not start with {" : "JSON, since it starts with {"}; name it .toml or .json to say which)`;
}

/** Reads a TOML (TOML 1.0, smol-toml) or JSON config file ({@link configFormat}); a syntax error names the line and column. */
export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError([`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  const format = configFormat(path, text);
  let input: unknown;
  try {
    // Integers beyond 2^53 (prices in wei) stay exact as bigints.
    input = format === "toml" ? parseToml(text, { integersAsBigInt: "asNeeded" }) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`config file ${path} is malformed: ${describeSyntaxError(error)}${formatHint(path, format)}`]);
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new ConfigError([`config file ${path} is not a table of settings`]);
  return { path, format, input: input as Record<string, unknown>, lineOf: format === "toml" ? tomlKeyLines(text) : () => undefined };
}

function describeSyntaxError(error: unknown): string {
  if (error instanceof TomlError) {
    // smol-toml's message is "Invalid TOML document: <reason>" followed by a code excerpt.
    const reason = error.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
    return `line ${error.line}, column ${error.column}: ${reason}`;
  }
  return (error as Error).message;
}

/**
 * Where each dotted key is set in a TOML text, for error messages. The file has already parsed,
 * so only table headers and `key =` starts are needed; a key not found gets no line.
 */
function tomlKeyLines(text: string): (key: string) => number | undefined {
  const lines = new Map<string, number>();
  let table = "";
  text.split(/\r?\n/).forEach((line, index) => {
    const header = /^\s*\[\s*([^[\]]+?)\s*\]/.exec(line);
    if (header) {
      table = unquoteKey(header[1]!);
      if (!lines.has(table)) lines.set(table, index + 1);
      return;
    }
    const assignment = /^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=/.exec(line);
    if (!assignment) return;
    const key = table === "" ? unquoteKey(assignment[1]!) : `${table}.${unquoteKey(assignment[1]!)}`;
    if (!lines.has(key)) lines.set(key, index + 1);
  });
  return (key) => lines.get(key);
}

function unquoteKey(key: string): string {
  return key
    .split(".")
    .map((part) => part.trim().replace(/^["']|["']$/g, ""))
    .join(".");
}
