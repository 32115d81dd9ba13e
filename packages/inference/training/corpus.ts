import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/** One verse of the King James Bible. */
export type Verse = { book: string; chapter: number; verse: number; text: string };

const DATA_DIR = "/usr/lib";

/**
 * The KJV text as Debian ships it (`apt-get install bible-kjv-text bible-kjv`), read through the
 * `bible` program: one header line per chapter ("1 Samuel 3"), one line per verse ("  9 And…").
 */
export function readKjvText(): string {
  if (!existsSync(`${DATA_DIR}/bible.data`)) {
    throw new Error("The KJV corpus is missing: run `apt-get install -y bible-kjv-text bible-kjv` (Debian/Ubuntu).");
  }
  return execFileSync("bible", ["-p", DATA_DIR, "-l100000", "Gen1:1-Rev22:21"], { encoding: "utf8", maxBuffer: 64 << 20 });
}

export function parseKjv(text: string): Verse[] {
  const verses: Verse[] = [];
  let book = "";
  let chapter = 0;
  for (const line of text.split("\n")) {
    const verseMatch = /^ +(\d+) (.+)$/.exec(line);
    if (verseMatch) {
      verses.push({ book, chapter, verse: Number(verseMatch[1]), text: verseMatch[2]!.trim() });
      continue;
    }
    const headerMatch = /^(\S.*) (\d+)$/.exec(line);
    if (headerMatch) {
      book = headerMatch[1]!;
      chapter = Number(headerMatch[2]);
    } else if (line.trim() !== "") {
      throw new Error(`Unexpected line in the KJV text: ${JSON.stringify(line)}`);
    }
  }
  return verses;
}
