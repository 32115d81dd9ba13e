/**
 * TEST HELPER: a TCP relay on an ephemeral loopback port in front of one server (the anvil RPC,
 * PostgreSQL over TCP), that a test can cut: `cut()` drops every open connection and refuses new
 * ones until `mend()`, as an RPC provider's outage or a network fault would. `silence()` is a
 * partition instead: nothing is forwarded any more, yet no connection is closed (no FIN, no RST),
 * and new ones are accepted and never answered; the connections it silenced stay silent (what was
 * in flight is lost), `mend()` lets new ones through again. `hold()` is a slow network: the
 * server's answers are held back, not lost, and `mend()` delivers them late, in order.
 */
import { createConnection, createServer, type Socket } from "node:net";

export type CuttableProxy = { url: string; cut(): void; silence(): void; hold(): void; mend(): void; close(): Promise<void> };

export async function startCuttableProxy(target: string): Promise<CuttableProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  const silenced = new WeakSet<Socket>();
  /** The server's answers held back while `hold()` lasts, in order. */
  const held: (() => void)[] = [];
  let holding = false;
  let state: "open" | "cut" | "silent" = "open";
  const server = createServer((inbound) => {
    if (state === "cut") return void inbound.destroy();
    open.add(inbound);
    inbound.on("error", () => undefined);
    inbound.on("close", () => open.delete(inbound));
    if (state === "silent") return void silenced.add(inbound);
    const outbound = createConnection({ host: hostname, port: Number(port) });
    open.add(outbound);
    outbound.on("error", () => undefined);
    outbound.on("close", () => {
      open.delete(outbound);
      inbound.destroy();
    });
    inbound.on("close", () => outbound.destroy());
    // Forwarded chunk by chunk, so that silencing stops at once whatever either side has buffered.
    const forward = (from: Socket, to: Socket) => from.on("data", (chunk) => silenced.has(from) || to.write(chunk));
    forward(inbound, outbound);
    outbound.on("data", (chunk) => {
      if (silenced.has(outbound)) return;
      if (holding) held.push(() => inbound.write(chunk));
      else inbound.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  // Everything but the address is kept (a PostgreSQL URL's user and database).
  const url = new URL(target);
  url.hostname = "127.0.0.1";
  url.port = String(address.port);
  return {
    url: url.href.replace(/\/$/, ""),
    cut() {
      state = "cut";
      for (const socket of open) socket.destroy();
    },
    silence() {
      state = "silent";
      for (const socket of open) silenced.add(socket);
    },
    hold() {
      holding = true;
    },
    mend() {
      state = "open";
      holding = false;
      for (const deliver of held.splice(0)) deliver();
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
