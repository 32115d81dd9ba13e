import { isHex, recoverAddress, type Address, type Hex } from "viem";
import { publicKeyToAddress } from "viem/accounts";
import { nativeSecp256k1 } from "@session-jobs/protocol/native-secp256k1";

const native = nativeSecp256k1;

/** Which implementation {@link recoverSigner} uses on this platform (the node logs it at start). */
export const signerRecoveryImplementation: "libsecp256k1" | "javascript" = native ? "libsecp256k1" : "javascript";

/**
 * The address whose key signed the 32-byte `digest` with the 65-byte `signature` (r, s, v with v
 * 0, 1, 27 or 28). Accepts and refuses exactly the signatures viem's `recoverAddress` does (high-s
 * included: callers that must refuse it check s themselves) and throws where viem throws, but in
 * native code: about a tenth of viem's CPU time per signature (docs/design.md, "Performance").
 * Where the binary cannot load, viem's own JavaScript runs.
 */
export async function recoverSigner(digest: Hex, signature: Hex): Promise<Address> {
  if (!native) return recoverAddress({ hash: digest, signature });
  if (!isHex(signature) || signature.length !== 132) throw new Error("invalid signature length");
  const bytes = Buffer.from(signature.slice(2), "hex");
  const recoveryId = toRecoveryId(bytes[64]!);
  const publicKey = native.ecdsaRecover(bytes.subarray(0, 64), recoveryId, Buffer.from(digest.slice(2), "hex"), false);
  return publicKeyToAddress(`0x${Buffer.from(publicKey).toString("hex")}`);
}

function toRecoveryId(v: number): 0 | 1 {
  if (v === 0 || v === 27) return 0;
  if (v === 1 || v === 28) return 1;
  throw new Error("Invalid yParityOrV value");
}
