import { createDecipheriv, pbkdf2Sync, scryptSync, timingSafeEqual } from "node:crypto";
import { bytesToHex, concatBytes, hexToBytes, keccak256, type Hex } from "viem";

/** A Web3 Secret Storage (v3) key file, as written by geth, `cast wallet new` and most wallets. */
type KeystoreV3 = {
  version: 3;
  crypto: {
    cipher: string;
    ciphertext: string;
    cipherparams: { iv: string };
    kdf: "scrypt" | "pbkdf2";
    kdfparams: { dklen: number; salt: string; n?: number; r?: number; p?: number; c?: number; prf?: string };
    mac: string;
  };
};

/**
 * Decrypts a v3 keystore (scrypt or pbkdf2-hmac-sha256, aes-128-ctr) with node's own crypto.
 * Throws on a wrong password (MAC mismatch) or an unsupported file, without echoing secrets.
 */
export function decryptKeystore(json: string, password: string): Hex {
  let parsed: KeystoreV3;
  try {
    parsed = JSON.parse(json) as KeystoreV3;
  } catch {
    throw new Error("keystore is not valid JSON");
  }
  const crypto = parsed.crypto ?? (parsed as unknown as { Crypto?: KeystoreV3["crypto"] }).Crypto;
  if (parsed.version !== 3 || !crypto) throw new Error("keystore is not a version 3 key file");
  if (crypto.cipher !== "aes-128-ctr") throw new Error(`keystore cipher ${crypto.cipher} is not supported`);

  const { kdfparams } = crypto;
  const salt = hexToBytes(prefixed(kdfparams.salt));
  let derivedKey: Uint8Array;
  if (crypto.kdf === "scrypt") {
    const { n, r, p } = kdfparams;
    if (!n || !r || !p) throw new Error("keystore scrypt parameters are incomplete");
    derivedKey = scryptSync(password, salt, kdfparams.dklen, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
  } else if (crypto.kdf === "pbkdf2") {
    if (kdfparams.prf !== "hmac-sha256" || !kdfparams.c) throw new Error("keystore pbkdf2 parameters are not supported");
    derivedKey = pbkdf2Sync(password, salt, kdfparams.c, kdfparams.dklen, "sha256");
  } else {
    throw new Error(`keystore kdf ${String(crypto.kdf)} is not supported`);
  }

  const ciphertext = hexToBytes(prefixed(crypto.ciphertext));
  const mac = hexToBytes(keccak256(concatBytes([derivedKey.slice(16, 32), ciphertext])));
  const expectedMac = hexToBytes(prefixed(crypto.mac));
  if (mac.length !== expectedMac.length || !timingSafeEqual(mac, expectedMac)) throw new Error("keystore password is wrong");

  const decipher = createDecipheriv("aes-128-ctr", derivedKey.slice(0, 16), hexToBytes(prefixed(crypto.cipherparams.iv)));
  const privateKey = concatBytes([decipher.update(ciphertext), decipher.final()]);
  if (privateKey.length !== 32) throw new Error("keystore does not hold a 32-byte private key");
  return bytesToHex(privateKey);
}

function prefixed(hex: string): Hex {
  return (hex.startsWith("0x") ? hex : `0x${hex}`) as Hex;
}
