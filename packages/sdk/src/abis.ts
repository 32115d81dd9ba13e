import { parseAbi } from "viem";
import { hostEarningsAbi, jobMarketplaceWithModelsAbi, modelRegistryAbi, nodeRegistryWithModelsAbi, proofSystemAbi } from "@session-jobs/contracts/abis";

export { hostEarningsAbi, jobMarketplaceWithModelsAbi, modelRegistryAbi, nodeRegistryWithModelsAbi, proofSystemAbi };

/** ERC-20 errors of ERC-6093 and ERC-2612 permits, as OpenZeppelin 5 tokens revert with them. */
export const erc20ErrorAbi = parseAbi([
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
  "error ERC20InvalidSender(address sender)",
  "error ERC20InvalidReceiver(address receiver)",
  "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
  "error ERC20InvalidApprover(address approver)",
  "error ERC20InvalidSpender(address spender)",
  "error ERC2612ExpiredSignature(uint256 deadline)",
  "error ERC2612InvalidSigner(address signer, address owner)",
  "error SafeERC20FailedOperation(address token)",
]);

/** The ERC-2612 and ERC-5267 views a permit needs, beside viem's `erc20Abi`. */
export const erc20PermitAbi = parseAbi([
  "function nonces(address owner) view returns (uint256)",
  "function name() view returns (string)",
  "function version() view returns (string)",
  "function eip712Domain() view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)",
]);

/**
 * Every error a Session Jobs call can revert with: the marketplace calls the registry, the proof
 * system, the earnings contract and the payment token, and their errors bubble up unchanged.
 */
export const sessionJobsErrorAbi = [
  ...jobMarketplaceWithModelsAbi,
  ...nodeRegistryWithModelsAbi,
  ...modelRegistryAbi,
  ...proofSystemAbi,
  ...hostEarningsAbi,
  ...erc20ErrorAbi,
].filter((item) => item.type === "error") as readonly ErrorItem[];

type AllItems =
  | (typeof jobMarketplaceWithModelsAbi)[number]
  | (typeof nodeRegistryWithModelsAbi)[number]
  | (typeof modelRegistryAbi)[number]
  | (typeof proofSystemAbi)[number]
  | (typeof hostEarningsAbi)[number]
  | (typeof erc20ErrorAbi)[number];
type ErrorItem = Extract<AllItems, { type: "error" }>;

/** The marketplace ABI with every error that can bubble up through it, for calls and decoding. */
export const marketplaceAbi = [...jobMarketplaceWithModelsAbi, ...sessionJobsErrorAbi] as const;
