import { hexToBytes, type Hex } from "viem";

const maxUint256 = 2n ** 256n - 1n;
const bytes32Pattern = /^0x[0-9a-fA-F]{64}$/;

/**
 * One `uint256` ABI word, straight into bytes (the protocol's hashes encode only fixed-size
 * words, so viem's generic encoder and its hex round trips are not needed). Refuses what viem
 * refuses: anything but a bigint in 0 … 2^256 − 1.
 */
export function uint256Word(name: string, value: unknown): Uint8Array {
  if (typeof value !== "bigint" || value < 0n || value > maxUint256) throw new TypeError(`${name} (uint256) is not an integer in range.`);
  return hexToBytes(`0x${value.toString(16).padStart(64, "0")}`);
}

/** One `bytes32` ABI word: exactly 32 bytes of hex, anything else refused. */
export function bytes32Word(name: string, value: unknown): Uint8Array {
  if (typeof value !== "string" || !bytes32Pattern.test(value)) throw new TypeError(`${name} (bytes32) is not 32 bytes of hex.`);
  return hexToBytes(value as Hex);
}
