/**
 * The EIP-712 types the contracts verify, declared once for every TypeScript caller (the SDK's
 * protocol re-exports them; scripts and tests use them directly).
 */

/** Domain name and version of `JobMarketplaceWithModels` (its `EIP712("SessionJobs", "1")`). */
export const sessionJobsDomainName = "SessionJobs";
export const sessionJobsDomainVersion = "1";

/** `Checkpoint`: the payer's consent to pay for `cumulativeTokens` in total (docs/design.md). */
export const checkpointTypes = {
  Checkpoint: [
    { name: "jobId", type: "uint256" },
    { name: "cumulativeTokens", type: "uint256" },
    { name: "transcriptHash", type: "bytes32" },
  ],
} as const;

/** ERC-2612 `Permit`, signed to open a USDC session in one transaction. */
export const permitTypes = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;
