import { setTimeout as sleep } from "node:timers/promises";
import { createInflate, createInflateRaw, deflateRawSync, deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { InflateEither } from "./inflate.node.ts";

/** 64 MiB of zeros: ~64 KiB deflated, one socket read's worth of a decompression bomb. */
const zeros = Buffer.alloc(64 * 1024 * 1024);

describe("InflateEither", () => {
  it.each([
    ["zlib-wrapped", deflateSync, createInflate],
    ["raw", deflateRawSync, createInflateRaw],
  ] as const)("decodes a %s bomb no further than it is read, as zlib's own decoder does", async (_kind, deflate, createOwnDecoder) => {
    const bomb = deflate(zeros, { level: 9 });
    for (const decoder of [createOwnDecoder(), new InflateEither()]) {
      decoder.write(bomb);
      // Nobody reads: time enough to decode all 64 MiB, were the decoder to go on by itself.
      await sleep(300);
      expect(decoder.readableLength).toBeLessThanOrEqual(1024 * 1024);
      let read = 0;
      for (let chunk: Buffer | null; (chunk = decoder.read() as Buffer | null) !== null;) read += chunk.byteLength;
      expect(read).toBeGreaterThan(0);
      decoder.destroy();
    }
  });
});
