import { createRequire } from "node:module";

/** The two libsecp256k1 calls the client (signing) and the host (recovering signers) make natively. */
export type NativeSecp256k1 = {
  ecdsaSign(message: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaRecover(signature: Uint8Array, recoveryId: number, digest: Uint8Array, compressed: boolean): Uint8Array;
};

/**
 * libsecp256k1 through the `secp256k1` package, whose npm tarball carries prebuilt binaries
 * (linux-x64 glibc and musl, darwin-arm64, win32-x64): nothing is downloaded or compiled. Loaded
 * from `secp256k1/bindings`, never the package's index, which would fall back to `elliptic`.
 * Undefined where the binary cannot load: callers fall back on viem's JavaScript. Node only (this
 * module is its own export, `@session-jobs/protocol/native-secp256k1`, kept out of browser bundles).
 */
export const nativeSecp256k1: NativeSecp256k1 | undefined = (() => {
  try {
    return createRequire(import.meta.url)("secp256k1/bindings") as NativeSecp256k1;
  } catch {
    return undefined;
  }
})();
