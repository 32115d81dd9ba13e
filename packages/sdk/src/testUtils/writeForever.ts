import type { Socket } from "node:net";
import type { ServerResponse } from "node:http";

/**
 * TEST HELPER: a hostile host's endless answer. Writes `piece` over and over until the peer goes
 * away, as fast as it reads (backpressure), so `count` sees the bytes the client let it write.
 */
export async function writeForever(stream: Socket | ServerResponse, piece: string | Buffer, count: (bytes: number) => void = () => undefined): Promise<void> {
  const chunk = Buffer.concat(Array<Buffer>(Math.ceil(65_536 / piece.length)).fill(Buffer.from(piece)));
  while (!stream.destroyed) {
    count(chunk.byteLength);
    if (!stream.write(chunk)) await drainedOrClosed(stream);
  }
}

/** Resolves once `stream` can take more, or is gone; leaves no listener behind (a stream waits thousands of times). */
function drainedOrClosed(stream: Socket | ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done).off("close", done);
      resolve();
    };
    stream.once("drain", done).once("close", done);
  });
}
