import { createBrotliCompress, createDeflate, createGzip, constants } from "node:zlib";
import type { ServerResponse } from "node:http";
import type { Transform } from "node:stream";

/** The codings a reverse proxy may compress with, as node:zlib makes them. */
export const compressions = {
  gzip: createGzip,
  deflate: createDeflate,
  br: createBrotliCompress,
} satisfies Record<string, () => Transform>;

export type Compression = keyof typeof compressions;

/**
 * TEST HELPER: a proxy in front of a host that compresses the answer whatever the request asked
 * (no `accept-encoding` needed). Writes the status and `content-encoding`, and returns the encoder
 * whose output is the response: write the host's bytes into it; `flushed` pushes what was written
 * out at once, as a proxy that streams SSE does.
 */
export function compressAnswer(response: ServerResponse, encoding: Compression, headers: Record<string, string> = {}) {
  response.writeHead(200, { ...headers, "content-encoding": encoding });
  const encoder = compressions[encoding]();
  encoder.pipe(response);
  response.once("close", () => encoder.destroy());
  const flushed = (text: string) =>
    new Promise<void>((resolve) => {
      encoder.write(text);
      encoder.flush(encoding === "br" ? constants.BROTLI_OPERATION_FLUSH : constants.Z_SYNC_FLUSH, () => resolve());
    });
  return { encoder, flushed };
}
