import type { Address } from "viem";

/**
 * Addresses of a Session Jobs deployment. The result of `deploySessionJobs` fits as it is.
 */
export type SessionJobsContracts = {
  jobMarketplace: Address;
  nodeRegistry: Address;
  modelRegistry?: Address | undefined;
  usdc?: Address | undefined;
};
