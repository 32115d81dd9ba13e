import type { Hex } from "viem";

/**
 * Signs a 32-byte digest with a private key, as viem's `sign` does, where something faster than
 * viem's JavaScript secp256k1 is at hand. In a browser there is none: the session key's viem
 * account signs (`digestSigner.node.ts` is the Node build's, chosen by the `#digestSigner` import).
 */
export const signDigestNatively: ((digest: Hex, privateKey: Hex) => Hex) | undefined = undefined;
