import type { Hex } from "viem";
import { bytes32Word } from "@session-jobs/protocol";
import { nativeSecp256k1 } from "@session-jobs/protocol/native-secp256k1";

// A local constant, so that the check below narrows it inside the closure (an import binding is not narrowed).
const native = nativeSecp256k1;

/**
 * Signs a 32-byte digest as viem's `sign` does (RFC 6979 nonce, low s, v 27 or 28): the very
 * same signature (digestSigner.test.ts compares them), in native code at a fraction of the CPU.
 * The SDK signs twice per exchange (the request and the receipt); in JavaScript that was a
 * quarter of its CPU per short answer and sat before every first token.
 */
export const signDigestNatively: ((digest: Hex, privateKey: Hex) => Hex) | undefined =
  native &&
  ((digest, privateKey) => {
    const { signature, recid } = native.ecdsaSign(bytes32Word("digest", digest), bytes32Word("private key", privateKey));
    return `0x${Buffer.from(signature).toString("hex")}${recid === 1 ? "1c" : "1b"}`;
  });
