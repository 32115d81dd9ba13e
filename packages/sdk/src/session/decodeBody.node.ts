import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip } from "node:zlib";
import type { DecodedCoding } from "./contentEncoding.ts";
import { InflateEither } from "./inflate.node.ts";

// Each hands out what a chunk decodes as it arrives (a proxy that compresses SSE flushes per
// event); a stream cut short at the answer's end is an error ("unexpected end of file").
const decoders: Record<DecodedCoding, () => Readable & NodeJS.WritableStream> = {
  gzip: createGunzip,
  "x-gzip": createGunzip,
  deflate: () => new InflateEither(),
  br: createBrotliDecompress,
};

/**
 * The answer's body decoded as its bytes arrive. The decoder takes the response's bytes only as
 * fast as its output is read (its buffers are one zlib chunk each way), so a few KB that expand
 * to gigabytes are inflated no further than the SDK reads: the SDK's caps on an answer hold on
 * the decoded bytes. A response that breaks fails the decoder; the caller destroys both.
 */
export function decodeBody(response: IncomingMessage, coding: DecodedCoding): Readable {
  const decoder = decoders[coding]();
  response.pipe(decoder);
  return decoder;
}
