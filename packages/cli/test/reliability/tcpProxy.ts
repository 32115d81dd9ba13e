import { connect, createServer, type Socket } from "node:net";

/**
 * A loopback TCP proxy in front of an RPC endpoint (node:net only) that a test can break:
 * - `setDown(true)` destroys every open connection and refuses new ones until `setDown(false)`;
 * - `cutAfter(marker, outageMs)` arms a one-shot fault: the first request whose bytes contain
 *   `marker` is forwarded upstream, but its answer never comes back — the connection is dropped
 *   and the proxy stays down for `outageMs`, then comes back by itself. This is the worst case
 *   for a client: the request reached the node, the client cannot know it did.
 */
export type TcpProxy = {
  url: string;
  setDown(value: boolean): void;
  cutAfter(marker: string, outageMs: number): Promise<void>;
  /** Connections accepted / refused so far. */
  readonly stats: { accepted: number; refused: number };
  close(): Promise<void>;
};

export async function startTcpProxy(target: URL): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const stats = { accepted: 0, refused: 0 };
  let down = false;
  let armed: { marker: string; outageMs: number; fired: () => void } | undefined;
  const timers = new Set<NodeJS.Timeout>();

  const setDown = (value: boolean) => {
    down = value;
    if (value) for (const socket of sockets) socket.destroy();
  };

  const server = createServer((client) => {
    if (down) {
      stats.refused++;
      client.destroy();
      return;
    }
    stats.accepted++;
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let tail = "";
    let swallowing = false;
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.on("data", (chunk: Buffer) => {
      upstream.write(chunk);
      if (!armed) return;
      // The marker may straddle two chunks: look at the end of the previous one too.
      const text = tail + chunk.toString("latin1");
      tail = text.slice(-256);
      if (!text.includes(armed.marker)) return;
      const { outageMs, fired } = armed;
      armed = undefined;
      swallowing = true;
      // Let the request reach the node, then cut everything before its answer can be read.
      const timer = setTimeout(() => {
        timers.delete(timer);
        setDown(true);
        const restore = setTimeout(() => {
          timers.delete(restore);
          setDown(false);
        }, outageMs);
        timers.add(restore);
        fired();
      }, 50);
      timers.add(timer);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!swallowing) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    setDown,
    cutAfter: (marker, outageMs) => new Promise<void>((fired) => (armed = { marker, outageMs, fired })),
    stats,
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      setDown(true);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
