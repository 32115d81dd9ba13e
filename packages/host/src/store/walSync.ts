import { closeSync, fdatasync, fsyncSync, openSync } from "node:fs";
import { dirname } from "node:path";

/** Flushes a file's written data to the disk (fdatasync in libuv's thread pool, off the event loop). */
export type Datasync = (fd: number) => Promise<void>;

const datasyncInThreadPool: Datasync = (fd) => new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));

/**
 * A descriptor held on a SQLite database's write-ahead log, `<path>-wal`, to make what SQLite
 * appended to it durable without holding the event loop. fdatasync of the file flushes every frame
 * written before it, whichever descriptor wrote them: what `synchronous=FULL` does at each commit
 * in WAL mode. `path` is the database file as SQLite names it (`PRAGMA database_list`: symbolic
 * links resolved, since SQLite puts the WAL beside the file a link points to). Open it once the WAL exists (after `journal_mode=WAL` and a first read or write) and
 * close it before the database closes: SQLite deletes the WAL when its last connection closes,
 * and nothing else replaces it while one is open (a checkpoint, even `wal_checkpoint(TRUNCATE)`,
 * truncates or rewinds the same file; journal_mode is set once, at open).
 *
 * Checkpoints stay safe with `synchronous=NORMAL`: SQLite still syncs the WAL before it copies
 * frames into the database, the database after, and the WAL's header when it starts reusing the
 * file (sqlite.org/pragma.html#pragma_synchronous; `walCheckpoint` and `walRestartLog` in wal.c).
 */
export function openWalSync(path: string, datasync: Datasync = datasyncInThreadPool) {
  let fd: number | undefined = openSync(`${path}-wal`, "r");
  syncDirectory(dirname(path));
  return {
    /** Resolves once everything written to the WAL before the call is on the disk. */
    sync(): Promise<void> {
      return fd === undefined ? Promise.reject(new Error(`the write-ahead log of ${path} is closed`)) : datasync(fd);
    },
    /** Closes the descriptor (before the database closes; again is a no-op). */
    close(): void {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/**
 * The WAL is created anew at each open after a clean close: its directory entry must reach the disk
 * too. Best effort, as SQLite's own directory sync (`unixSync` in os_unix.c ignores a directory it
 * cannot open or fsync): some file systems (network, FUSE) refuse it, and a node must still start there.
 */
function syncDirectory(directory: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(directory, "r");
    fsyncSync(fd);
  } catch {
    // Not every file system can sync a directory; SQLite goes on too.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
