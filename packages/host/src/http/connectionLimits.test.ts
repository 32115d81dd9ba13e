import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { connectionCap, createConnectionLimiter, readOpenFileLimit } from "./connectionLimits.ts";

const socketFrom = (remoteAddress: string) => Object.assign(new EventEmitter(), { remoteAddress }) as unknown as Socket;

describe("connection limits", () => {
  it("keeps the reserved descriptors out of the connection cap", () => {
    expect(connectionCap(1_024, 128, 1_024)).toBe(896);
    expect(connectionCap(1_024, 128, 65_536)).toBe(1_024);
    expect(connectionCap(1_024, 128, 100)).toBe(1);
    expect(connectionCap(1_024, 128, undefined)).toBe(1_024);
  });

  it("reads the soft open-file limit of this process on Linux", () => {
    const limit = readOpenFileLimit();
    if (process.platform === "linux") expect(limit === undefined || limit > 0).toBe(true);
  });

  it("admits below both caps and counts a connection until its socket closes", () => {
    const limiter = createConnectionLimiter({ maxConnections: 3, maxConnectionsPerAddress: 2 });
    const a = [socketFrom("10.0.0.1"), socketFrom("10.0.0.1"), socketFrom("10.0.0.1")];
    expect(a.map((socket) => limiter.admit(socket))).toEqual(["admitted", "admitted", "address"]);
    expect(limiter.admit(socketFrom("10.0.0.2"))).toBe("admitted");
    expect(limiter.admit(socketFrom("10.0.0.3"))).toBe("total");
    a[0]!.emit("close");
    expect(limiter.open).toBe(2);
    expect(limiter.admit(socketFrom("10.0.0.1"))).toBe("admitted");
  });
});
