import { readFileSync } from "node:fs";
import type { Socket } from "node:net";

/** How many connections the node holds at once, in total and from one remote address. */
export type ConnectionLimits = { maxConnections: number; maxConnectionsPerAddress: number };

/**
 * Counts open connections and admits a new one only below both caps; the caller answers a refused
 * one and closes it. A connection is counted until its socket closes.
 */
export function createConnectionLimiter(limits: ConnectionLimits) {
  const byAddress = new Map<string, number>();
  let total = 0;
  return {
    get open() {
      return total;
    },
    /** Counts `socket` if both caps allow it; returns why not otherwise. */
    admit(socket: Socket): "admitted" | "total" | "address" {
      const address = socket.remoteAddress ?? "unknown";
      const fromAddress = byAddress.get(address) ?? 0;
      if (total >= limits.maxConnections) return "total";
      if (fromAddress >= limits.maxConnectionsPerAddress) return "address";
      total += 1;
      byAddress.set(address, fromAddress + 1);
      socket.once("close", () => {
        total -= 1;
        const left = (byAddress.get(address) ?? 1) - 1;
        if (left === 0) byAddress.delete(address);
        else byAddress.set(address, left);
      });
      return "admitted";
    },
  };
}

/**
 * The total connection cap that leaves `reserved` file descriptors of the process's soft limit
 * (`ulimit -n`) for everything else: the RPC client, the database, the upstream backend, logs.
 * Where the limit cannot be read (not Linux), the configured cap stands.
 */
export function connectionCap(configured: number, reserved: number, openFileLimit = readOpenFileLimit()): number {
  if (openFileLimit === undefined) return configured;
  return Math.max(1, Math.min(configured, openFileLimit - reserved));
}

/** The soft limit on open files, from /proc/self/limits; undefined where there is none or it is unlimited. */
export function readOpenFileLimit(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((text) => text.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}
