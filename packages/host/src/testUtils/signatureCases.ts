import type { Hex } from "viem";

/** secp256k1's group order n. */
export const secp256k1Order = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** A 32-byte word as 64 hex digits. */
export const hexWord = (value: bigint) => value.toString(16).padStart(64, "0");

/** A 65-byte signature from its parts (v as two hex digits). */
export const compactSignature = (r: bigint, s: bigint, v: string): Hex => `0x${hexWord(r)}${hexWord(s)}${v}`;

/**
 * Forged and malformed variants of a real 65-byte signature: its high-s twin, bad v values, r or s
 * zero or out of range, points off the curve, wrong lengths and non-hex digits, then `random`
 * signatures with arbitrary r and in-range s (deterministic).
 */
export function forgedSignatures(real: Hex, random = 24): Hex[] {
  const r = BigInt(`0x${real.slice(2, 66)}`);
  const s = BigInt(`0x${real.slice(66, 130)}`);
  const v = real.slice(130);
  const cases: Hex[] = [
    compactSignature(r, secp256k1Order - s, v === "1b" ? "1c" : "1b"), // the high-s twin: same signer
    compactSignature(r, s, "1d"),
    compactSignature(r, s, "02"),
    compactSignature(r, s, "ff"),
    compactSignature(0n, s, v),
    compactSignature(r, 0n, v),
    compactSignature(secp256k1Order, s, v),
    compactSignature(secp256k1Order - 1n, s, v),
    compactSignature(r, secp256k1Order, v),
    compactSignature(2n ** 256n - 1n, s, v),
    compactSignature(1n, 1n, "1b"),
    compactSignature(5n, 7n, "1c"), // x = 5 is not on the curve
    `${real}00` as Hex,
    real.slice(0, 130) as Hex,
    `0x${"zz".repeat(65)}`,
    `${real.slice(0, 40)}g${real.slice(41)}` as Hex, // not hex, in r
    `${real.slice(0, 100)}g${real.slice(101)}` as Hex, // not hex, in s
  ];
  for (let i = 0; i < random; i++)
    cases.push(
      compactSignature(
        BigInt(`0x${hexWord(BigInt(i + 1) * 0x9e3779b97f4a7c15n + 3n)}`),
        ((BigInt(i + 7) * 0x1234567n * secp256k1Order) / 97n) % secp256k1Order,
        i % 2 ? "1b" : "01",
      ),
    );
  return cases;
}
