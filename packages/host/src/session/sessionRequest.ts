import type { IncomingHttpHeaders } from "node:http";
import { isHex, type Hex } from "viem";
import { sessionHeaders, type SignedEndpoint } from "@session-jobs/protocol";
import type { OnChainSession } from "../chain/chainSession.ts";
import { HostError } from "../errors.ts";

/** The session headers of a request (docs/design.md, "HTTP session protocol"). */
export type SignedRequest = { jobId: bigint; sequence: bigint; transcriptHash: Hex; endpoint: SignedEndpoint; signature: Hex; body: Uint8Array };

/** A request whose signature and session checked out. */
export type AuthenticatedRequest = SignedRequest & { session: OnChainSession };

/** Reads the session headers of a request to `endpoint`; absent or malformed ones are a client error. */
export function parseSessionHeaders(headers: IncomingHttpHeaders, endpoint: SignedEndpoint, body: Uint8Array): SignedRequest {
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const jobId = header(sessionHeaders.jobId);
  const sequence = header(sessionHeaders.sequence);
  const signature = header(sessionHeaders.signature);
  const transcriptHash = header(sessionHeaders.transcript);
  if (jobId === undefined)
    throw new HostError(
      "invalid_request",
      "X-Session-Job-Id is missing: this host serves paid sessions; send requests through the SDK's createSessionFetch or `session-jobs client chat`",
    );
  if (!/^\d{1,78}$/.test(jobId)) throw new HostError("invalid_request", "X-Session-Job-Id must be a decimal job id");
  if (sequence === undefined || !/^\d{1,78}$/.test(sequence) || BigInt(sequence) === 0n)
    throw new HostError("invalid_request", "X-Session-Sequence must be a decimal number of at least 1");
  if (signature === undefined || !isHex(signature) || signature.length < 132)
    throw new HostError("session_bad_signature", "X-Session-Signature must hold the session signer's EIP-712 SessionRequest signature");
  if (transcriptHash === undefined || !isHex(transcriptHash) || transcriptHash.length !== 66)
    throw new HostError("invalid_request", "X-Session-Transcript must be the 32-byte transcript hash the request builds on");
  return { jobId: BigInt(jobId), sequence: BigInt(sequence), transcriptHash: transcriptHash.toLowerCase() as Hex, endpoint, signature, body };
}
