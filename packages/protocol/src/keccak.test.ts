import { bytesToHex, keccak256 } from "viem";
import { describe, expect, it } from "vitest";
import { keccak256Bytes, keccak256Hex } from "./keccak.ts";

describe("keccak256Bytes", () => {
  it("hashes every length across several rate blocks (136 bytes) as viem does", () => {
    const bytes = Uint8Array.from({ length: 700 }, (_, index) => (index * 131 + 7) & 0xff);
    for (let length = 0; length <= bytes.length; length++) {
      const input = bytes.subarray(0, length);
      expect(keccak256Hex(input), `length ${length}`).toBe(keccak256(input));
      expect(bytesToHex(keccak256Bytes(input))).toBe(keccak256(input));
    }
  });

  it("hashes a view into a larger buffer (a Buffer slice at an offset), not the whole buffer", () => {
    const pool = Buffer.from("prefix-bytes:the request body:suffix");
    const view = pool.subarray(13, 29);
    expect(keccak256Hex(view)).toBe(keccak256(new Uint8Array(view)));
    expect(keccak256Hex(new Uint8Array(pool.buffer, pool.byteOffset + 13, 16))).toBe(keccak256(Buffer.from("the request body")));
  });
});
