/**
 * TEST HELPER: a PostgreSQL address where something accepts connections and never answers (a
 * half-dead server, a firewall that drops): only a timeout or the caller can end a wait there.
 */
import { createServer, type AddressInfo, type Socket } from "node:net";

export type SilentServer = Awaited<ReturnType<typeof startSilentServer>>;

export async function startSilentServer() {
  const sockets: Socket[] = [];
  const server = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `postgres://host@127.0.0.1:${(server.address() as AddressInfo).port}/host`,
    /** Resolves once the server holds one more connection than it held when called. */
    async nextConnection(): Promise<void> {
      const before = sockets.length;
      while (sockets.length === before) await new Promise((resolve) => setTimeout(resolve, 5));
    },
    async close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
