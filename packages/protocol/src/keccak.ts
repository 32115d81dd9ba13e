import sha3 from "js-sha3";
import type { Hex } from "viem";

// The default export: js-sha3's ESM build has it, and so has its CommonJS build (older versions,
// which some tools resolve first), whose named exports Node cannot see.
const { keccak_256 } = sha3;

/**
 * Keccak-256 of bytes, as viem's `keccak256` computes it, in about a third of its CPU time: js-sha3
 * (the implementation ethers v5 shipped) against viem's @noble/hashes, measured on this project's
 * machine. The host hashes each exchange's request body, answer, transcript words, two EIP-712
 * structs and digests and two recovered public keys: about a dozen hashes per exchange
 * (docs/design.md, "Performance").
 */
export function keccak256Bytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(keccak_256.arrayBuffer(data));
}

/** {@link keccak256Bytes} as 0x-prefixed lowercase hex, as viem's `keccak256` returns it. */
export function keccak256Hex(data: Uint8Array): Hex {
  return `0x${keccak_256(data)}`;
}
