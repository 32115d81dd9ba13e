import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import { ConfigError } from "../errors.ts";

/** A config file's content, and the line each key is set on (TOML files only). */
export type ConfigFile = { path: string; input: Record<string, unknown>; lineOf: (key: string) => number | undefined };

/** Reads a `.toml` (TOML 1.0, smol-toml) or JSON config file; a syntax error names the line and column. */
export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError([`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  const toml = extname(path) === ".toml";
  let input: unknown;
  try {
    // Integers beyond 2^53 (prices in wei) stay exact as bigints.
    input = toml ? parseToml(text, { integersAsBigInt: "asNeeded" }) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`config file ${path} is malformed: ${describeSyntaxError(error)}`]);
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new ConfigError([`config file ${path} is not a table of settings`]);
  return { path, input: input as Record<string, unknown>, lineOf: toml ? tomlKeyLines(text) : () => undefined };
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
