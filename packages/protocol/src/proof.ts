import { concatHex, size, slice, type Hex } from "viem";

/**
 * Encodes the `proof` argument of `submitProofOfWork`: the transcript hash (32 bytes) followed by
 * the session signer's `Checkpoint` signature (65-byte ECDSA or ERC-1271 bytes).
 */
export function encodeCheckpointProof(parameters: { transcriptHash: Hex; signature: Hex }): Hex {
  return concatHex([parameters.transcriptHash, parameters.signature]);
}

/** Splits a `proof` back into its transcript hash and signature. */
export function decodeCheckpointProof(proof: Hex): { transcriptHash: Hex; signature: Hex } {
  if (size(proof) <= 32) throw new Error(`checkpoint proof too short: ${size(proof)} bytes`);
  return { transcriptHash: slice(proof, 0, 32), signature: slice(proof, 32) };
}
