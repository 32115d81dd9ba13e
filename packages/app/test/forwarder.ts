import { connect, createServer, type AddressInfo, type Socket } from "node:net";

export type Forwarder = {
  /** `http://127.0.0.1:<port>`: the host, reached at another address. */
  url: string;
  /** Stops listening and cuts every connection: the address then refuses connections. */
  close: () => Promise<void>;
  /**
   * From now on, a request reaches the host and is served but its answer never comes back: the
   * open connections are cut, and on new ones requests pass while answers are dropped; once a
   * streamed (chunked) answer ended at the host, that connection is cut and the address stops
   * listening, so a browser's retry of the request is refused.
   */
  swallowAnswers: () => void;
};

/**
 * A TCP forwarder on a fresh loopback port to the host at `targetUrl`: a host that moves (a new
 * port, a load balancer in front) is the same node at another address.
 */
export async function forwardTo(targetUrl: string): Promise<Forwarder> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let swallowing = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    track(client);
    track(upstream);
    client.pipe(upstream);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    if (!swallowing) {
      upstream.pipe(client);
      return;
    }
    let tail = "";
    upstream.on("data", (chunk: Buffer) => {
      tail = (tail + chunk.toString("latin1")).slice(-5);
      if (tail !== "0\r\n\r\n") return;
      server.close();
      client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) resolve();
        else server.close(() => resolve());
        cutAll();
      }),
    swallowAnswers: () => {
      swallowing = true;
      cutAll();
    },
  };
}
