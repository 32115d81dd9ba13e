import { createHash } from "node:crypto";
import { mkdirSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { join } from "node:path";
import type { Address } from "viem";
import { HostLockError } from "../errors.ts";

export type HostLock = { readonly path: string; release(): Promise<void> };

/**
 * Takes the machine-wide lock of one host key on one marketplace, so that a second `host start`
 * with the same key refuses to start instead of racing the first for nonces and sessions. The lock
 * is a listening Unix socket: a process that dies (kill -9) stops answering on it, and the next
 * start takes the lock over; a live holder answers, and the start fails with {@link HostLockError}.
 */
export async function acquireHostLock(parameters: { dir: string; marketplace: Address; host: Address }): Promise<HostLock> {
  mkdirSync(parameters.dir, { recursive: true, mode: 0o700 });
  const name = createHash("sha256").update(`${parameters.marketplace.toLowerCase()}:${parameters.host.toLowerCase()}`).digest("hex").slice(0, 24);
  const path = join(parameters.dir, `${name}.lock`);
  let server: Server;
  try {
    server = await listen(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    if (await answers(path))
      throw new HostLockError(`another host process already runs with key ${parameters.host} on marketplace ${parameters.marketplace} (lock ${path})`);
    // Left behind by a process that died: take it over.
    unlinkSync(path);
    server = await listen(path);
  }
  server.unref();
  return {
    path,
    release: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end());
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
