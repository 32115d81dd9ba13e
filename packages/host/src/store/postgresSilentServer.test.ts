/**
 * A PostgreSQL address where something accepts connections but never answers (a half-dead server,
 * a firewall that drops, a failover to an address nobody serves yet): opening the store, or a pooled
 * connection later, fails within the connect timeout instead of waiting forever.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployment } from "../testUtils/storeFixtures.ts";
import { createPostgresStore } from "./postgresStore.ts";

let silent: Server;
const sockets: Socket[] = [];
beforeAll(async () => {
  silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe("PostgreSQL store on a server that never answers", () => {
  it("fails to open within the connect timeout (pg's timeout expired) instead of waiting forever", async () => {
    const url = `postgres://host@127.0.0.1:${(silent.address() as AddressInfo).port}/host`;
    const opening = createPostgresStore({ url, deployment, connectTimeoutMs: 300 }).then(
      () => "opened",
      (error: unknown) => error,
    );
    const outcome = await Promise.race([opening, new Promise((resolve) => setTimeout(() => resolve("still waiting"), 3_000))]);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/timeout/i);
  });
});
