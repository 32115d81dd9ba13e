/**
 * TEST HELPER: a TCP relay on an ephemeral loopback port in front of one server (the anvil RPC),
 * that a test can cut: `cut()` drops every open connection and refuses new ones until `mend()`,
 * as an RPC provider's outage or a network fault would.
 */
import { createConnection, createServer, type Socket } from "node:net";

export type CuttableProxy = { url: string; cut(): void; mend(): void; close(): Promise<void> };

export async function startCuttableProxy(target: string): Promise<CuttableProxy> {
  const { hostname, port, protocol, pathname } = new URL(target);
  const open = new Set<Socket>();
  let isCut = false;
  const server = createServer((inbound) => {
    if (isCut) return void inbound.destroy();
    const outbound = createConnection({ host: hostname, port: Number(port) });
    for (const socket of [inbound, outbound]) {
      open.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        open.delete(socket);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: `${protocol}//127.0.0.1:${address.port}${pathname === "/" ? "" : pathname}`,
    cut() {
      isCut = true;
      for (const socket of open) socket.destroy();
    },
    mend() {
      isCut = false;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
