import { createBrotliCompress, createDeflate, createDeflateRaw, createGzip, constants } from "node:zlib";
import type { ServerResponse } from "node:http";
import type { Transform } from "node:stream";

/**
 * The compressions a reverse proxy may answer with, as node:zlib makes them, and the
 * `content-encoding` each is labelled with: `deflate` is meant to be zlib-wrapped (RFC 9110
 * 8.4.1.2), but some servers send raw deflate under that name, which fetch decodes too.
 */
export const compressions = {
  gzip: { coding: "gzip", encoder: createGzip },
  deflate: { coding: "deflate", encoder: createDeflate },
  "raw deflate": { coding: "deflate", encoder: createDeflateRaw },
  br: { coding: "br", encoder: createBrotliCompress },
} satisfies Record<string, { coding: string; encoder: () => Transform }>;

export type Compression = keyof typeof compressions;

/**
 * TEST HELPER: a proxy in front of a host that compresses the answer whatever the request asked
 * (no `accept-encoding` needed). Writes the status and `content-encoding`, and returns the encoder
 * whose output is the response: write the host's bytes into it; `flushed` pushes what was written
 * out at once, as a proxy that streams SSE does.
 */
export function compressAnswer(response: ServerResponse, compression: Compression, headers: Record<string, string> = {}) {
  const { coding, encoder: createEncoder } = compressions[compression];
  response.writeHead(200, { ...headers, "content-encoding": coding });
  const encoder = createEncoder();
  encoder.pipe(response);
  response.once("close", () => encoder.destroy());
  const flushed = (text: string) =>
    new Promise<void>((resolve) => {
      encoder.write(text);
      encoder.flush(coding === "br" ? constants.BROTLI_OPERATION_FLUSH : constants.Z_SYNC_FLUSH, () => resolve());
    });
  return { encoder, flushed };
}
