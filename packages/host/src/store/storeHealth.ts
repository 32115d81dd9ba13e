import { existsSync, renameSync, statSync } from "node:fs";
import type Database from "better-sqlite3";
import { HostError } from "../errors.ts";

/**
 * Whether the database the node writes to is still the file at its path and still writable.
 * A file removed under a running node (its open handle keeps writing into the unlinked inode) or
 * a write that failed (disk full, I/O error, read-only) is a fault that sticks until restart:
 * new work is refused with `storage_unavailable` (503) and `/ready` fails. What was stored is
 * copied out of the open handle, and put back in place at close when the path is still empty.
 */
export function createStorageHealth(parameters: { db: Database.Database; path: string; onFault?: (fault: string) => void; onClosed?: () => void }) {
  const { db, path } = parameters;
  const inMemory = path === ":memory:" || path === "";
  const identity = inMemory ? undefined : fileIdentity(path);
  const recoveryPath = `${path}.recovered`;
  let fault: string | undefined;
  let removed = false;
  let copying: Promise<unknown> | undefined;

  const raise = (reason: string) => {
    if (fault) return;
    fault = reason;
    parameters.onFault?.(reason);
    // Every receipt and sequence is still in the open handle: copy it out before anything else fails.
    if (removed) copying = db.backup(recoveryPath).catch(() => undefined);
  };

  return {
    /** Why the node must not take new work, or undefined when storage is sound. */
    fault(): string | undefined {
      if (!fault && identity) {
        const now = fileIdentity(path);
        if (!now || now.dev !== identity.dev || now.ino !== identity.ino) {
          removed = true;
          raise(`the database file ${path} was removed or replaced while the node ran; a copy of what it held is written to ${recoveryPath}`);
        }
      }
      return fault;
    },

    /** Refuses new work while storage is faulty (503 `storage_unavailable`). */
    assertWritable(): void {
      const reason = this.fault();
      if (reason) throw new HostError("storage_unavailable", `storage unavailable: ${reason}; restart the node once it is fixed`);
    },

    /** Remembers a failed write (or sync) as the fault, and returns the documented refusal for its caller. */
    writeFailed(error: unknown): HostError {
      const code = (error as { code?: string }).code ?? "unknown error";
      raise(`writing ${path} failed (${code})`);
      return new HostError("storage_unavailable", `storage unavailable: ${fault}; restart the node once it is fixed`, { cause: error });
    },

    /**
     * Closes the database (at once, unless a removed one is first written back to its path, if
     * nothing new is there), then calls `onClosed`.
     */
    async close(): Promise<void> {
      if (!db.open) return;
      if (removed) {
        await copying;
        await db.backup(recoveryPath);
      }
      db.close();
      if (removed && !existsSync(path)) renameSync(recoveryPath, path);
      parameters.onClosed?.();
    },
  };
}

export type StorageHealth = ReturnType<typeof createStorageHealth>;

function fileIdentity(path: string): { dev: number; ino: number } | undefined {
  try {
    const stats = statSync(path);
    return { dev: stats.dev, ino: stats.ino };
  } catch {
    return undefined;
  }
}
