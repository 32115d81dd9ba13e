/**
 * TEST HELPER: temporary folders of one test file (a SQLite database, a configuration file),
 * removed after its last test. Called once at the top of the file, before its other `afterAll`s,
 * so that the folders go after what still has files open in them is stopped (Vitest runs
 * `afterAll` hooks last registered first).
 *
 * @example
 * const tempDir = tempDirsRemovedAfterAll();
 * const dbPath = join(tempDir("host-node-"), "host.sqlite");
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

export function tempDirsRemovedAfterAll(): (prefix: string) => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return (prefix) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
