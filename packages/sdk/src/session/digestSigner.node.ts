import { createRequire } from "node:module";
import { hexToBytes, type Hex } from "viem";

type NativeSecp256k1 = { ecdsaSign(message: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number } };

/**
 * libsecp256k1 through the `secp256k1` package's prebuilt binaries (as the host recovers
 * signers), from `secp256k1/bindings`, never the package's index, which would fall back to
 * `elliptic`. Undefined where the binary cannot load: viem's JavaScript signs then.
 */
function loadNative(): NativeSecp256k1 | undefined {
  try {
    return createRequire(import.meta.url)("secp256k1/bindings") as NativeSecp256k1;
  } catch {
    return undefined;
  }
}

const native = loadNative();
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
