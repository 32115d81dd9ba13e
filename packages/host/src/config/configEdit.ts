import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { parse as parseToml } from "smol-toml";
import { readConfigFile } from "./configFile.ts";
import { ConfigError } from "../errors.ts";

/** A value a command may write into the config file. */
export type ConfigValue = string | number | bigint | readonly string[];

/**
 * Sets top-level or `table.key` settings in a JSON or TOML config file, keeping a TOML file's
 * comments and layout: the key's lines are replaced (or the key is added to its table). The
 * result is parsed again and must equal the old settings with exactly these changes, otherwise
 * nothing is written. The file is replaced atomically with its mode kept.
 */
export function updateConfigFile(path: string, changes: Record<string, ConfigValue>): void {
  const { input, format } = readConfigFile(path);
  const expected = structuredClone(input);
  for (const [key, value] of Object.entries(changes)) setAt(expected, key, plain(value));
  let text = readFileSync(path, "utf8");
  if (format === "toml") {
    for (const [key, value] of Object.entries(changes)) text = setTomlValue(text, key, value);
    if (!parses(text) || !isDeepStrictEqual(normalise(parseToml(text)), normalise(expected)))
      throw new ConfigError([`cannot update ${path} safely: edit ${Object.keys(changes).join(", ")} by hand`]);
  } else {
    text = `${JSON.stringify(expected, null, 2)}\n`;
  }
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: statSync(path).mode & 0o777 });
  renameSync(temporary, path);
}

function setTomlValue(text: string, key: string, value: ConfigValue): string {
  const lines = text.split("\n");
  const dot = key.lastIndexOf(".");
  const table = dot === -1 ? "" : key.slice(0, dot);
  const name = key.slice(dot + 1);
  const assignment = `${name} = ${tomlValue(value)}`;
  const header = (line: string) => /^\s*\[\s*([^[\]]+?)\s*\]/.exec(line)?.[1];
  let current = "";
  let tableStart = table === "" ? 0 : -1;
  for (let index = 0; index < lines.length; index++) {
    const found = header(lines[index]!);
    if (found !== undefined) {
      current = found;
      if (current === table) tableStart = index + 1;
      continue;
    }
    if (current !== table || !new RegExp(`^\\s*${name}\\s*=`).test(lines[index]!)) continue;
    // The old value may span lines (a multi-line array): take the fewest lines that leave valid TOML.
    for (let end = index + 1; end <= lines.length; end++) {
      const candidate = [...lines.slice(0, index), assignment, ...lines.slice(end)].join("\n");
      if (parses(candidate)) return candidate;
    }
    return text;
  }
  if (tableStart === -1) return `${text.replace(/\n*$/, "\n")}\n[${table}]\n${assignment}\n`;
  // Top-level keys must come before the first table.
  const at = table === "" ? lines.findIndex((line) => header(line) !== undefined) : tableStart;
  const insertAt = at === -1 ? lines.length : at;
  return [...lines.slice(0, insertAt), assignment, ...lines.slice(insertAt)].join("\n");
}

/** Big integers (wei prices) are written as strings, which the schema accepts, so no reader rounds them. */
function plain(value: ConfigValue): string | number | readonly string[] {
  if (typeof value !== "bigint") return value;
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

function tomlValue(value: ConfigValue): string {
  const written = plain(value);
  return typeof written === "number" ? String(written) : JSON.stringify(written);
}

function parses(text: string): boolean {
  try {
    parseToml(text);
    return true;
  } catch {
    return false;
  }
}

function setAt(root: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split(".");
  let table = root;
  for (const part of parts.slice(0, -1)) {
    if (typeof table[part] !== "object" || table[part] === null) table[part] = {};
    table = table[part] as Record<string, unknown>;
  }
  table[parts.at(-1)!] = value;
}

/** TOML integers parse as numbers or bigints; compare them as numbers. */
function normalise(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, item: unknown) => (typeof item === "bigint" ? Number(item) : item))) as unknown;
}
