import { recoverAddress, type Address, type Hex, type LocalAccount, type TypedDataDefinition } from "viem";
import { checkpointTypes, sessionJobsDomain, sessionRequestTypes } from "./eip712.ts";
import { sessionHeaders, type SignedEndpoint } from "./headers.ts";
import { keccak256Hex } from "./keccak.ts";
import { createTypedDataDigest } from "./typedDataDigest.ts";

/** Where a signature is valid: one chain, one marketplace deployment. */
export type SessionDomainParameters = { chainId: number; marketplace: Address };

/** A cumulative receipt: the payer agrees to pay for `cumulativeTokens` in total. */
export type Checkpoint = { jobId: bigint; cumulativeTokens: bigint; transcriptHash: Hex };

/**
 * Signs typed data whose digest is already known: an account that signs hashes (a local key)
 * signs the digest; any other account gets the whole typed data, as it may show it to a person.
 * The signature is the same either way.
 */
function signDigest(account: LocalAccount, digest: Hex, typedData: () => TypedDataDefinition): Promise<Hex> {
  return account.sign ? account.sign({ hash: digest }) : account.signTypedData(typedData());
}

const hashCheckpoint = createTypedDataDigest(checkpointTypes);

/** Signs a `Checkpoint` receipt with the session key. */
export function signCheckpoint(account: LocalAccount, domain: SessionDomainParameters, checkpoint: Checkpoint): Promise<Hex> {
  return signDigest(account, checkpointDigest(domain, checkpoint), () => ({
    domain: sessionJobsDomain(domain),
    types: checkpointTypes,
    primaryType: "Checkpoint",
    message: checkpoint,
  }));
}

/** The EIP-712 digest a `Checkpoint` receipt's signature signs. */
export function checkpointDigest(domain: SessionDomainParameters, checkpoint: Checkpoint): Hex {
  return hashCheckpoint(domain, checkpoint);
}

/** Recovers the signer of a `Checkpoint` receipt. */
export function recoverCheckpointSigner(domain: SessionDomainParameters, checkpoint: Checkpoint, signature: Hex): Promise<Address> {
  return recoverAddress({ hash: checkpointDigest(domain, checkpoint), signature });
}

/** One signed HTTP request: its body, for a job and endpoint, at a sequence number, building on a transcript hash. */
export type SessionRequest = { jobId: bigint; sequence: bigint; transcriptHash: Hex; endpoint: SignedEndpoint; body: Uint8Array };

const sessionRequestMessage = (request: SessionRequest) => ({
  jobId: request.jobId,
  sequence: request.sequence,
  transcriptHash: request.transcriptHash,
  endpoint: request.endpoint,
  bodyHash: keccak256Hex(request.body),
});

const hashSessionRequest = createTypedDataDigest(sessionRequestTypes);

/** Signs one HTTP request body for a job at a sequence number and transcript hash. */
export function signSessionRequest(account: LocalAccount, domain: SessionDomainParameters, request: SessionRequest): Promise<Hex> {
  const message = sessionRequestMessage(request);
  return signDigest(account, hashSessionRequest(domain, message), () => ({
    domain: sessionJobsDomain(domain),
    types: sessionRequestTypes,
    primaryType: "SessionRequest",
    message,
  }));
}

/** The EIP-712 digest a `SessionRequest` signature signs. */
export function sessionRequestDigest(domain: SessionDomainParameters, request: SessionRequest): Hex {
  return hashSessionRequest(domain, sessionRequestMessage(request));
}

/** Recovers the signer of an HTTP request body. */
export function recoverSessionRequestSigner(domain: SessionDomainParameters, request: SessionRequest, signature: Hex): Promise<Address> {
  return recoverAddress({ hash: sessionRequestDigest(domain, request), signature });
}

/**
 * The session headers of one signed request (job id, sequence, transcript hash, signature), for
 * clients that speak the protocol without the SDK's actions.
 *
 * @example
 * const headers = await signSessionRequestHeaders(account, domain, { jobId, sequence: 1n, transcriptHash: emptyTranscriptHash, endpoint: "/v1/chat/completions", body });
 * await fetch(`${hostUrl}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
 */
export async function signSessionRequestHeaders(
  account: LocalAccount,
  domain: SessionDomainParameters,
  request: SessionRequest,
): Promise<Record<string, string>> {
  return sessionRequestHeaders(request, await signSessionRequest(account, domain, request));
}

/** The headers that carry a request's session fields and the session key's signature over them (see {@link signSessionRequestHeaders}). */
export function sessionRequestHeaders(request: Omit<SessionRequest, "endpoint" | "body">, signature: Hex): Record<string, string> {
  return {
    [sessionHeaders.jobId]: request.jobId.toString(),
    [sessionHeaders.sequence]: request.sequence.toString(),
    [sessionHeaders.transcript]: request.transcriptHash,
    [sessionHeaders.signature]: signature,
  };
}
