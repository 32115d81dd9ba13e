import type { Address, TypedDataDomain } from "viem";
import { checkpointTypes, sessionJobsDomainName, sessionJobsDomainVersion } from "@session-jobs/contracts/eip712";

/** The domain name and version and the `Checkpoint` type are the contract's: declared beside it. */
export { checkpointTypes, sessionJobsDomainName, sessionJobsDomainVersion };

/** The EIP-712 domain: bound to one chain and one `JobMarketplaceWithModels` deployment. */
export function sessionJobsDomain(parameters: { chainId: number; marketplace: Address }): TypedDataDomain {
  return {
    name: sessionJobsDomainName,
    version: sessionJobsDomainVersion,
    chainId: parameters.chainId,
    verifyingContract: parameters.marketplace,
  };
}

/**
 * `SessionRequest`: authenticates one HTTP request body for a job and endpoint, at a given
 * sequence number, building on a given transcript hash (the one after the last exchange the
 * client saw end). The transcript binding lets a host refuse a request from a client that missed
 * an exchange, and lets a client recognise which recorded exchanges it asked for and where
 * (`POST /v1/session/sync`); the endpoint keeps a signed close or sync from passing for a chat.
 */
export const sessionRequestTypes = {
  SessionRequest: [
    { name: "jobId", type: "uint256" },
    { name: "sequence", type: "uint256" },
    { name: "transcriptHash", type: "bytes32" },
    { name: "endpoint", type: "string" },
    { name: "bodyHash", type: "bytes32" },
  ],
} as const;
