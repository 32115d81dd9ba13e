import { finished, Transform, type TransformCallback } from "node:stream";
import { createInflate, createInflateRaw, type Inflate, type InflateRaw } from "node:zlib";

/**
 * The low four bits of a zlib stream's first byte: its compression method, 8 (deflate). A raw
 * deflate stream starts with a block header instead, whose low bits name the block type: they
 * read 8 only for a stored block with its padding bits set, which no encoder writes.
 */
const zlibMethod = 8;

/**
 * A `content-encoding: deflate` decoder for both kinds of body a server labels so: a zlib stream,
 * as the standard means (RFC 9110, 8.4.1.2), or raw deflate, as some servers send. The kind is
 * chosen by the first byte, as undici (Node's `fetch`) chooses, so both transports decode the
 * same bodies. Backpressure holds as for zlib's own decoders: the next bytes are taken only once
 * the decoded ones of the last were read.
 */
export class InflateEither extends Transform {
  #inflate: Inflate | InflateRaw | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.#inflate) {
      if (chunk.byteLength === 0) return done();
      const inflate = (this.#inflate = (chunk[0]! & 0x0f) === zlibMethod ? createInflate() : createInflateRaw());
      // Decoded bytes wait in zlib's decoder until they are read: unpaused, it would decode all it
      // was given at once (a 64 KiB deflate bomb is 64 MiB), whoever reads.
      inflate.on("data", (decoded: Buffer) => {
        if (!this.push(decoded)) inflate.pause();
      });
      inflate.on("error", (error) => this.destroy(error));
    }
    this.#inflate.write(chunk, () => done());
  }

  override _read(size: number): void {
    this.#inflate?.resume();
    super._read(size);
  }

  // A stream cut short is an error ("unexpected end of file") as with zlib's own decoders; an
  // empty body is empty.
  override _flush(done: TransformCallback): void {
    if (!this.#inflate) return done();
    finished(this.#inflate, (error) => done(error));
    this.#inflate.end();
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.#inflate?.destroy();
    done(error);
  }
}
