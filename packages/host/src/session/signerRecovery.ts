import { isHex, recoverAddress, type Address, type Hex } from "viem";
import { keccak256Bytes } from "@session-jobs/protocol";
import { nativeSecp256k1 } from "@session-jobs/protocol/native-secp256k1";

const native = nativeSecp256k1;

/** Which implementation {@link recoverSigner} uses on this platform (the node logs it at start). */
export const signerRecoveryImplementation: "libsecp256k1" | "javascript" = native ? "libsecp256k1" : "javascript";

/**
 * The address, in lowercase, whose key signed the 32-byte `digest` with the 65-byte `signature`
 * (r, s, v with v 0, 1, 27 or 28). Accepts and refuses exactly the signatures viem's
 * `recoverAddress` does (high-s included: callers that must refuse it check s themselves) and
 * throws where viem throws, but in native code: about a tenth of viem's CPU time per signature
 * (docs/design.md, "Performance"). Lowercase because callers compare addresses: the checksum
 * would cost a second hash per signature. Where the binary cannot load, viem's own JavaScript runs.
 */
export async function recoverSigner(digest: Hex, signature: Hex): Promise<Address> {
  if (!native) return (await recoverAddress({ hash: digest, signature })).toLowerCase() as Address;
  if (!isHex(signature) || signature.length !== 132) throw new Error("invalid signature length");
  const bytes = Buffer.from(signature.slice(2), "hex");
  const recoveryId = toRecoveryId(bytes[64]!);
  const publicKey = native.ecdsaRecover(bytes.subarray(0, 64), recoveryId, Buffer.from(digest.slice(2), "hex"), false);
  // An Ethereum address is the last 20 bytes of the keccak of the uncompressed key without its 0x04 prefix.
  return `0x${Buffer.from(keccak256Bytes(publicKey.subarray(1))).toString("hex", 12)}`;
}

function toRecoveryId(v: number): 0 | 1 {
  if (v === 0 || v === 27) return 0;
  if (v === 1 || v === 28) return 1;
  throw new Error("Invalid yParityOrV value");
}
