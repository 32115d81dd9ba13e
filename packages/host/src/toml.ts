/**
 * Parses the subset of TOML a host config needs: `[table]` and `[table.sub]` headers,
 * `key = value` with strings ("…" or '…'), integers, floats, booleans and one-line arrays of
 * those, and `#` comments. Anything else is an error naming the line, never silently ignored.
 */
export function parseTomlSubset(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let table = root;
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = stripComment(rawLine).trim();
    if (line === "") return;
    const where = `line ${index + 1}`;
    const header = /^\[\s*([A-Za-z0-9_.-]+)\s*\]$/.exec(line);
    if (header) {
      table = root;
      for (const part of header[1]!.split(".")) {
        const next = table[part] ?? {};
        if (typeof next !== "object" || Array.isArray(next)) throw new Error(`${where}: [${header[1]}] redefines a value`);
        table[part] = next;
        table = next as Record<string, unknown>;
      }
      return;
    }
    const assignment = /^([A-Za-z0-9_-]+)\s*=\s*(.+)$/.exec(line);
    if (!assignment) throw new Error(`${where}: expected "key = value" or "[table]"`);
    const key = assignment[1]!;
    if (key in table) throw new Error(`${where}: ${key} is defined twice`);
    table[key] = parseValue(assignment[2]!.trim(), where);
  });
  return root;
}

function parseValue(text: string, where: string): unknown {
  if (text.startsWith("[")) {
    if (!text.endsWith("]")) throw new Error(`${where}: arrays must be on one line`);
    const inner = text.slice(1, -1).trim();
    if (inner === "") return [];
    return splitArray(inner, where).map((item) => parseValue(item.trim(), where));
  }
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) return JSON.parse(text) as string;
  if (text.startsWith("'") && text.endsWith("'") && text.length >= 2) return text.slice(1, -1);
  if (text === "true") return true;
  if (text === "false") return false;
  const numeric = text.replace(/_/g, "");
  if (/^[+-]?\d+$/.test(numeric)) {
    const value = Number(numeric);
    return Number.isSafeInteger(value) ? value : numeric;
  }
  if (/^[+-]?\d+\.\d+([eE][+-]?\d+)?$/.test(numeric)) return Number(numeric);
  throw new Error(`${where}: cannot read value ${text}`);
}

function splitArray(inner: string, where: string): string[] {
  const items: string[] = [];
  let current = "";
  let quote: string | undefined;
  for (const char of inner) {
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === ",") {
      items.push(current);
      current = "";
      continue;
    }
    current += char;
  }
  if (quote) throw new Error(`${where}: unterminated string`);
  if (current.trim() !== "") items.push(current);
  return items;
}

function stripComment(line: string): string {
  let quote: string | undefined;
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (quote) {
      if (char === "\\" && quote === '"') index++;
      else if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === "#") {
      return line.slice(0, index);
    }
  }
  return line;
}
