import { describe, expect, it } from "vitest";
import { base64ToBytes, bytesToBase64, bytesToBase64Portable } from "./sync.ts";

const randomBytes = (length: number) => {
  const bytes = new Uint8Array(length);
  for (let start = 0; start < length; start += 65_536) crypto.getRandomValues(bytes.subarray(start, start + 65_536));
  return bytes;
};

/** The fastest of `runs` timings of `work`, in milliseconds. */
function fastest(work: () => unknown, runs: number): number {
  let best = Infinity;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    work();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

describe("sync encoding", () => {
  it("encodes and decodes exactly as Node's Buffer does, at every length around the chunk size", () => {
    for (const length of [0, 1, 2, 3, 4, 255, 32_767, 32_768, 32_769, 100_003]) {
      const bytes = randomBytes(length);
      const encoded = bytesToBase64(bytes);
      expect(encoded).toBe(Buffer.from(bytes).toString("base64"));
      expect(bytesToBase64Portable(bytes)).toBe(encoded);
      expect(bytesToBase64(bytes.subarray(1))).toBe(Buffer.from(bytes.subarray(1)).toString("base64"));
      expect(base64ToBytes(encoded)).toEqual(bytes);
    }
  });

  it("encodes a 4 MiB body in time proportional to Buffer's, measured side by side (a ratio, not a clock)", () => {
    const bytes = randomBytes(4 * 1024 * 1024);
    const encoded = Buffer.from(bytes).toString("base64");
    // Interleaved and best-of-five, so a busy machine slows both sides alike. Byte-by-byte string
    // building measured ~57x Buffer; chunked encoding stays within a small factor of it.
    const ratios = { encode: 0, decode: 0 };
    for (let round = 0; round < 3; round++) {
      const ours = fastest(() => bytesToBase64(bytes), 5);
      const buffer = fastest(() => Buffer.from(bytes).toString("base64"), 5);
      const oursDecode = fastest(() => base64ToBytes(encoded), 5);
      const bufferDecode = fastest(() => Buffer.from(encoded, "base64"), 5);
      ratios.encode = Math.max(ratios.encode, ours / Math.max(buffer, 0.05));
      ratios.decode = Math.max(ratios.decode, oursDecode / Math.max(bufferDecode, 0.05));
    }
    console.log(`base64 of 4 MiB vs Buffer: encode ${ratios.encode.toFixed(1)}x, decode ${ratios.decode.toFixed(1)}x`);
    expect(ratios.encode).toBeLessThan(15);
  });

  it("the browser encoder (btoa only) grows linearly: 4 MiB costs about four times 1 MiB, measured side by side", () => {
    const small = randomBytes(1024 * 1024);
    const large = randomBytes(4 * 1024 * 1024);
    let ratio = Infinity;
    for (let round = 0; round < 3; round++)
      ratio = Math.min(
        ratio,
        fastest(() => bytesToBase64Portable(large), 3) /
          Math.max(
            fastest(() => bytesToBase64Portable(small), 3),
            0.05,
          ),
      );
    console.log(`portable base64: 4 MiB / 1 MiB = ${ratio.toFixed(1)}x`);
    expect(ratio).toBeLessThan(10);
  });
});
