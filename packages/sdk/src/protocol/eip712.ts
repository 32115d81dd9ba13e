import type { Address, TypedDataDomain } from "viem";

/** EIP-712 domain name and version shared by receipts and request signatures. */
export const sessionJobsDomainName = "SessionJobs";
export const sessionJobsDomainVersion = "1";

/** The EIP-712 domain: bound to one chain and one `JobMarketplaceWithModels` deployment. */
export function sessionJobsDomain(parameters: { chainId: number; marketplace: Address }): TypedDataDomain {
  return {
    name: sessionJobsDomainName,
    version: sessionJobsDomainVersion,
    chainId: parameters.chainId,
    verifyingContract: parameters.marketplace,
  };
}

/** `Checkpoint`: the payer's consent to pay for `cumulativeTokens` in total (see docs/design.md). */
export const checkpointTypes = {
  Checkpoint: [
    { name: "jobId", type: "uint256" },
    { name: "cumulativeTokens", type: "uint256" },
    { name: "transcriptHash", type: "bytes32" },
  ],
} as const;

/** `SessionRequest`: authenticates one HTTP request body for a job, at a given sequence number. */
export const sessionRequestTypes = {
  SessionRequest: [
    { name: "jobId", type: "uint256" },
    { name: "sequence", type: "uint256" },
    { name: "bodyHash", type: "bytes32" },
  ],
} as const;
