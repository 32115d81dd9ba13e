import { describe, expect, it } from "vitest";
import { bytesToHex, keccak256, stringToBytes, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { signDigestNatively } from "#digestSigner";
import { signDigestNatively as browserSigner } from "./digestSigner.ts";
import { sessionAccount, signSessionDigest } from "./transport.ts";
import type { Session } from "./types.ts";

// The `secp256k1` package ships prebuilt binaries for these; elsewhere viem's JavaScript signs.
const prebuilt = ["linux-x64", "darwin-arm64", "win32-x64"].includes(`${process.platform}-${process.arch}`);

describe("signing a digest natively (Node)", () => {
  it("loads libsecp256k1 where the package has a prebuilt binary; a browser build has none", () => {
    expect(signDigestNatively !== undefined).toBe(prebuilt);
    expect(browserSigner).toBeUndefined();
  });

  it.runIf(prebuilt)("makes the very signatures viem's sign makes, for many keys and digests", async () => {
    for (let index = 0; index < 64; index++) {
      const key = generatePrivateKey();
      const digest = keccak256(stringToBytes(`digest ${index}`));
      expect(signDigestNatively!(digest, key)).toBe(await privateKeyToAccount(key).sign({ hash: digest }));
    }
  });

  it.runIf(prebuilt)("refuses what viem refuses: a digest that is not 32 bytes, a key of zero or past the curve order", async () => {
    const key = generatePrivateKey();
    const digest = keccak256("0x01");
    const badKeys: Hex[] = [bytesToHex(new Uint8Array(32)), "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"];
    for (const badKey of badKeys) {
      await expect(
        privateKeyToAccount(key)
          .sign({ hash: digest })
          .then(() => privateKeyToAccount(badKey)),
      ).rejects.toThrow();
      expect(() => signDigestNatively!(digest, badKey)).toThrow();
    }
    for (const badDigest of [digest.slice(0, 64) as Hex, `${digest}00` as Hex]) expect(() => signDigestNatively!(badDigest, key)).toThrow();
  });

  it("signs for a session with its own key: at once where it signs natively, else through viem's account", async () => {
    const sessionKey = generatePrivateKey();
    const session = { sessionKey } as Session;
    const digest = keccak256("0x02");
    const signature = signSessionDigest(session, digest);
    expect(typeof signature === "string").toBe(signDigestNatively !== undefined);
    expect(await signature).toBe(await privateKeyToAccount(sessionKey).sign({ hash: digest }));
    expect(sessionAccount(session).address).toBe(privateKeyToAccount(sessionKey).address);
  });
});
