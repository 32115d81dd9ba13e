import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";

/** One file of a {@link StaticSite}, held in memory. */
export type StaticFile = { body: Buffer; contentType: string; immutable: boolean };

/**
 * A built web app read into memory once: a request can only ever name a file that was found
 * here at start, so no request path reaches the file system (no traversal, no symlink escape,
 * no directory listing, no file added later).
 */
export type StaticSite = { files: ReadonlyMap<string, StaticFile>; bytes: number };

export class StaticSiteError extends Error {
  override name = "StaticSiteError";
}

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

/** Bounds on what is read at start: a misconfigured folder (`/`) fails fast instead of filling memory. */
export const staticSiteLimits = { maxFiles: 2_000, maxBytes: 64 * 1024 * 1024, maxDepth: 8 } as const;

/**
 * Reads every regular file under `dir` (symbolic links and special files are skipped) into a
 * {@link StaticSite}, keyed by its path relative to `dir` with `/` separators. Files under
 * `assets/` carry a content hash in their name (Vite) and may be cached for ever. Throws a
 * {@link StaticSiteError} when `dir` has no `index.html` or exceeds {@link staticSiteLimits}.
 */
export function loadStaticSite(dir: string): StaticSite {
  const files = new Map<string, StaticFile>();
  let bytes = 0;
  const walk = (folder: string, prefix: string, depth: number) => {
    if (depth > staticSiteLimits.maxDepth) throw new StaticSiteError(`${dir} is nested deeper than ${staticSiteLimits.maxDepth} folders; is it a built app?`);
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      const stat = lstatSync(path);
      const key = prefix === "" ? name : `${prefix}/${name}`;
      if (stat.isDirectory()) walk(path, key, depth + 1);
      if (!stat.isFile()) continue;
      bytes += stat.size;
      if (files.size >= staticSiteLimits.maxFiles || bytes > staticSiteLimits.maxBytes)
        throw new StaticSiteError(`${dir} holds more than ${staticSiteLimits.maxFiles} files or ${staticSiteLimits.maxBytes} bytes; is it a built app?`);
      files.set(key, {
        body: readFileSync(path),
        contentType: contentTypes[extname(name).toLowerCase()] ?? "application/octet-stream",
        immutable: key.startsWith("assets/"),
      });
    }
  };
  try {
    walk(dir, "", 0);
  } catch (error) {
    if (error instanceof StaticSiteError) throw error;
    throw new StaticSiteError(`cannot read ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!files.has("index.html")) throw new StaticSiteError(`${dir} has no index.html: build the app first (npm run build -w packages/app)`);
  return { files, bytes };
}

/** Longest file path looked up (characters after the prefix); longer ones are refused at once. */
export const maxStaticPathLength = 512;

/**
 * The file a decoded request path names, or undefined. `path` is what follows the site's prefix
 * (`""` and `"/"` name `index.html`). Only exact keys match: `..`, `.`, empty segments,
 * backslashes and NUL never name a file because no key holds them.
 */
export function findStaticFile(site: StaticSite, path: string): StaticFile | undefined {
  if (path.length > maxStaticPathLength) return undefined;
  const key = path.replace(/^\//, "");
  return site.files.get(key === "" ? "index.html" : key);
}
