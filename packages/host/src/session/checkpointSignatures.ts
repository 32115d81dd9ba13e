import { parseSignature, type Address, type Hex } from "viem";
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

const secp256k1HalfOrder = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

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
      if (signature.length === 132) {
        // The contract accepts only low-s ECDSA signatures; a high-s one would revert on chain.
        let s: bigint;
        try {
          s = BigInt(parseSignature(signature).s);
        } catch {
          return false;
        }
        if (s > secp256k1HalfOrder) return false;
        try {
          if ((await recoverSigner(checkpointDigest(domain, checkpoint), signature)).toLowerCase() === signer.toLowerCase()) return true;
        } catch {
          // Not an ECDSA signature: a contract signer may still accept it.
        }
      }
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
