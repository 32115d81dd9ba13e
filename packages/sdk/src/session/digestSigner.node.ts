import { hexToBytes, type Hex } from "viem";
import { nativeSecp256k1 } from "@session-jobs/protocol/native-secp256k1";

const native = nativeSecp256k1;

const word = /^0x[0-9a-fA-F]{64}$/;

/**
 * Signs a 32-byte digest as viem's `sign` does (RFC 6979 nonce, low s, v 27 or 28): the very
 * same signature (digestSigner.test.ts compares them), in native code at a fraction of the CPU.
 * The SDK signs twice per exchange (the request and the receipt); in JavaScript that was a
 * quarter of its CPU per short answer and sat before every first token.
 */
export const signDigestNatively: ((digest: Hex, privateKey: Hex) => Hex) | undefined =
  native &&
  ((digest, privateKey) => {
    if (!word.test(digest) || !word.test(privateKey)) throw new TypeError("A digest and a private key are 32 bytes of hex each.");
    const { signature, recid } = native.ecdsaSign(hexToBytes(digest), hexToBytes(privateKey));
    return `0x${Buffer.from(signature).toString("hex")}${recid === 1 ? "1c" : "1b"}`;
  });
