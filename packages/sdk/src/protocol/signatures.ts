import {
  keccak256,
  recoverTypedDataAddress,
  type Address,
  type Hex,
  type LocalAccount,
} from "viem";
import { checkpointTypes, sessionJobsDomain, sessionRequestTypes } from "./eip712.ts";

/** Where a signature is valid: one chain, one marketplace deployment. */
export type SessionDomainParameters = { chainId: number; marketplace: Address };

/** A cumulative receipt: the payer agrees to pay for `cumulativeTokens` in total. */
export type Checkpoint = { jobId: bigint; cumulativeTokens: bigint; transcriptHash: Hex };

/** Signs a `Checkpoint` receipt with the session key. */
export function signCheckpoint(account: LocalAccount, domain: SessionDomainParameters, checkpoint: Checkpoint): Promise<Hex> {
  return account.signTypedData({
    domain: sessionJobsDomain(domain),
    types: checkpointTypes,
    primaryType: "Checkpoint",
    message: checkpoint,
  });
}

/** Recovers the signer of a `Checkpoint` receipt. */
export function recoverCheckpointSigner(domain: SessionDomainParameters, checkpoint: Checkpoint, signature: Hex): Promise<Address> {
  return recoverTypedDataAddress({
    domain: sessionJobsDomain(domain),
    types: checkpointTypes,
    primaryType: "Checkpoint",
    message: checkpoint,
    signature,
  });
}

/** Signs one HTTP request body for a job at a sequence number. */
export function signSessionRequest(
  account: LocalAccount,
  domain: SessionDomainParameters,
  request: { jobId: bigint; sequence: bigint; body: Uint8Array },
): Promise<Hex> {
  return account.signTypedData({
    domain: sessionJobsDomain(domain),
    types: sessionRequestTypes,
    primaryType: "SessionRequest",
    message: { jobId: request.jobId, sequence: request.sequence, bodyHash: keccak256(request.body) },
  });
}

/** Recovers the signer of an HTTP request body. */
export function recoverSessionRequestSigner(
  domain: SessionDomainParameters,
  request: { jobId: bigint; sequence: bigint; body: Uint8Array },
  signature: Hex,
): Promise<Address> {
  return recoverTypedDataAddress({
    domain: sessionJobsDomain(domain),
    types: sessionRequestTypes,
    primaryType: "SessionRequest",
    message: { jobId: request.jobId, sequence: request.sequence, bodyHash: keccak256(request.body) },
    signature,
  });
}
