import { recoverAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { forgedSignatures, hexWord } from "../testUtils/signatureCases.ts";
import { recoverSigner, signerRecoveryImplementation } from "./signerRecovery.ts";

const digest = (seed: number): Hex => `0x${hexWord(BigInt(seed) * 0x9e3779b97f4a7c15n + 12345n)}`;

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
    const cases = forgedSignatures(real, 32);
    for (const signature of cases) expect(await viaHost(hash, signature), signature).toBe(await viaViem(hash, signature));
  });
});
