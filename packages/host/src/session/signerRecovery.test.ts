import { recoverAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { recoverSigner, signerRecoveryImplementation } from "./signerRecovery.ts";

const order = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const word = (value: bigint) => value.toString(16).padStart(64, "0");
const digest = (seed: number): Hex => `0x${word(BigInt(seed) * 0x9e3779b97f4a7c15n + 12345n)}`;

/** What viem answers: the address (lowercase, as the host compares it), or that it threw. */
const viaViem = (hash: Hex, signature: Hex) =>
  recoverAddress({ hash, signature }).then(
    (address) => address.toLowerCase(),
    () => "throws",
  );
const viaHost = (hash: Hex, signature: Hex) => recoverSigner(hash, signature).then(String, () => "throws");

describe("recoverSigner", () => {
  it("uses libsecp256k1 from the package's bundled binary on this platform", () => {
    expect(signerRecoveryImplementation).toBe("libsecp256k1");
  });

  it("recovers what viem recovers from real signatures, with v as 27/28 and as 0/1", async () => {
    for (let i = 0; i < 8; i++) {
      const account = privateKeyToAccount(generatePrivateKey());
      const hash = digest(i);
      const signature = await account.sign({ hash });
      const yParity = Number.parseInt(signature.slice(130), 16) - 27;
      const compactV: Hex = `${signature.slice(0, 130)}${yParity.toString(16).padStart(2, "0")}` as Hex;
      expect(await recoverSigner(hash, signature)).toBe(account.address.toLowerCase());
      expect(await recoverSigner(hash, compactV)).toBe(account.address.toLowerCase());
    }
  });

  it("accepts and refuses exactly what viem does for forged and malformed signatures", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const hash = digest(99);
    const real = await account.sign({ hash });
    const r = BigInt(`0x${real.slice(2, 66)}`);
    const s = BigInt(`0x${real.slice(66, 130)}`);
    const v = real.slice(130);
    const make = (rr: bigint, ss: bigint, vv: string): Hex => `0x${word(rr)}${word(ss)}${vv}`;
    const cases: Hex[] = [
      make(r, order - s, v === "1b" ? "1c" : "1b"), // the high-s twin of a valid signature
      make(r, s, "1d"),
      make(r, s, "02"),
      make(r, s, "ff"),
      make(0n, s, v),
      make(r, 0n, v),
      make(order, s, v),
      make(r, order, v),
      make(2n ** 256n - 1n, s, v),
      make(1n, 1n, "1b"),
      make(5n, 7n, "1c"), // x = 5 is not on the curve
      `${real}00` as Hex,
      real.slice(0, 130) as Hex,
      `0x${"zz".repeat(65)}`,
    ];
    for (let i = 0; i < 32; i++) cases.push(make(BigInt(digest(1000 + i)), BigInt(digest(2000 + i)) % order, i % 2 ? "1b" : "1c"));
    for (const signature of cases) expect(await viaHost(hash, signature), signature).toBe(await viaViem(hash, signature));
  });
});
