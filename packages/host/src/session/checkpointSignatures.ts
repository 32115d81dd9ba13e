import type { Address, Hex } from "viem";
import { checkpointDigest, type Checkpoint, type SessionDomainParameters } from "@session-jobs/protocol";
import { HostError } from "../errors.ts";
import { recoverSigner } from "./signerRecovery.ts";

export type CreateCheckpointSignaturesParameters = {
  domain: SessionDomainParameters;
  /** Asks the chain whether a contract (ERC-1271) signer accepts a checkpoint signature. */
  isValidContractSignature?: (signer: Address, checkpoint: Checkpoint, signature: Hex) => Promise<boolean>;
  /** Whether an address holds code; asked once per session, the first time a receipt fails the ECDSA check, so that only a contract signer is ever asked about ERC-1271. */
  isContract?: (address: Address) => Promise<boolean>;
};

/** secp256k1's order n and n / 2 as 64 lowercase hex digits: lowercase hex words of one length compare as their numbers do. */
const orderWord = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
const halfOrderWord = "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0";
const zeroWord = "0".repeat(64);
const compactSignature = /^0x[0-9a-f]{130}$/;

/**
 * Whether a 65-byte signature (lowercase hex) has r and s in 1 … n − 1, a low s (s ≤ n / 2) and v 27
 * or 28, as the contract's ECDSA check accepts (OpenZeppelin hands v to `ecrecover` as it is, and
 * `ecrecover` takes only 27 or 28: a v of 0 or 1 would be refused on chain, never proven): compared
 * as hex strings, not parsed into numbers, as this runs for every receipt (which reaches it as hex:
 * the receipt parser refuses anything else).
 */
function isLowSSignature(signature: string): boolean {
  if (!compactSignature.test(signature)) return false;
  const r = signature.slice(2, 66);
  const s = signature.slice(66, 130);
  const v = signature.slice(130);
  return r !== zeroWord && r < orderWord && s !== zeroWord && s <= halfOrderWord && (v === "1b" || v === "1c");
}

/**
 * Whether `signature` is an ECDSA signature of `checkpoint` by `signer` that the contract's inline
 * check accepts (65 bytes, low s, v 27 or 28, recovering to the signer), whatever code the signer
 * holds now: what the contract decides without asking the signer.
 */
export async function isEcdsaReceiptOf(domain: SessionDomainParameters, signer: Address, checkpoint: Checkpoint, signature: Hex): Promise<boolean> {
  const lowercase = signature.toLowerCase();
  if (signature.length !== 132 || !isLowSSignature(lowercase)) return false;
  try {
    return (await recoverSigner(checkpointDigest(domain, checkpoint), lowercase as Hex)) === signer.toLowerCase();
  } catch {
    return false; // not an ECDSA signature
  }
}

/** Checks checkpoint (receipt) signatures: low-s ECDSA by the session signer, or ERC-1271 by a contract signer. */
export function createCheckpointSignatures(parameters: CreateCheckpointSignaturesParameters) {
  const { domain } = parameters;
  /**
   * Whether each session's signer is a contract, learned once per session (the signer is fixed at
   * creation) when a receipt first fails the ECDSA check, not before: an honest session key never
   * costs the read, a session's forged receipts cost one `eth_getCode` in all, and only a contract
   * signer is asked about ERC-1271. A failed read is not kept.
   */
  const contractSigners = new Map<bigint, Promise<boolean>>();
  const signerIsContract = (jobId: bigint, signer: Address): Promise<boolean> => {
    let known = contractSigners.get(jobId);
    if (!known) {
      const isContract = parameters.isContract;
      known = isContract ? isContract(signer) : Promise.resolve(false);
      contractSigners.set(jobId, known);
      // A failed read is not an answer: ask again next time.
      known.catch(() => contractSigners.delete(jobId));
    }
    return known;
  };

  return {
    /** Whether `signature` over `checkpoint` is the session signer's. */
    async isSignedBy(jobId: bigint, signer: Address, checkpoint: Checkpoint, signature: Hex): Promise<boolean> {
      // The contract's ECDSA check takes only low-s signatures with v 27 or 28; any other 65 bytes go on
      // to ERC-1271 there as here (a contract signer may accept them), and are refused for a signer without code.
      if (await isEcdsaReceiptOf(domain, signer, checkpoint, signature)) return true;
      if (!parameters.isValidContractSignature) return false;
      let isContract: boolean;
      try {
        isContract = await signerIsContract(jobId, signer);
      } catch (error) {
        throw new HostError("chain_unavailable", "cannot read the session signer from chain right now; retry later", { cause: error });
      }
      return isContract && parameters.isValidContractSignature(signer, checkpoint, signature);
    },
  };
}

export type CheckpointSignatures = ReturnType<typeof createCheckpointSignatures>;
