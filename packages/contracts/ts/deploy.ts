import { getAddress, type Account, type Address, type Chain, type Hash, type Hex, type PublicClient, type Transport, type WalletClient } from "viem";
import {
  jobMarketplaceWithModelsAbi,
  modelRegistryAbi,
  nodeRegistryWithModelsAbi,
  proofSystemAbi,
  testUsdcAbi,
} from "../generated/abis.ts";
import {
  jobMarketplaceWithModelsBytecode,
  modelRegistryBytecode,
  nodeRegistryWithModelsBytecode,
  proofSystemBytecode,
  testUsdcBytecode,
} from "../generated/bytecode.ts";

/** Addresses of one deployment of the five contracts (and the test USDC on local chains). */
export type SessionJobsDeployment = {
  chainId: number;
  modelRegistry: Address;
  nodeRegistry: Address;
  proofSystem: Address;
  hostEarnings: Address;
  jobMarketplace: Address;
  treasury: Address;
  owner: Address;
  /** A 6-decimal ERC-20 with ERC-2612 permit, accepted by the marketplace (local chains only). */
  usdc?: Address | undefined;
  /** Block of the first deployment transaction, for event queries. */
  deployedAtBlock: string;
};

export type DeploySessionJobsParameters = {
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  publicClient: PublicClient;
  /** Receives the 10% fee. Default: the deployer. */
  treasury?: Address | undefined;
  /** Deploy TestUSDC and accept it (0.80 USDC minimum deposit, 100..100,000 per token). */
  deployTestUsdc?: boolean | undefined;
  /** An existing ERC-20 to accept as the stable asset instead (with the same limits). */
  stableToken?: Address | undefined;
  /** Called after each transaction is mined. */
  onStep?: ((step: string, hash: Hash, gasUsed: bigint) => void) | undefined;
};

/** The seed's USDC limits: minimum deposit 0.80 USDC, price 100..100,000 base units per token. */
export const stableAssetLimits = { minDeposit: 800_000n, minPricePerToken: 100n, maxPricePerToken: 100_000n } as const;

/**
 * Deploys and wires ModelRegistry, NodeRegistryWithModels, ProofSystem and JobMarketplaceWithModels,
 * whose constructor deploys the HostEarnings only it can credit (and TestUSDC when asked). The
 * deployer owns every contract that has an owner.
 *
 * @example
 * const deployment = await deploySessionJobs({ walletClient, publicClient, deployTestUsdc: true });
 */
export async function deploySessionJobs(parameters: DeploySessionJobsParameters): Promise<SessionJobsDeployment> {
  const { walletClient, publicClient, onStep } = parameters;
  const owner = walletClient.account.address;
  const treasury = parameters.treasury ?? owner;
  const chain = walletClient.chain ?? null;
  let firstBlock: bigint | undefined;

  const confirm = async (step: string, hash: Hash) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`deploy step "${step}" reverted (transaction ${hash})`);
    firstBlock ??= receipt.blockNumber;
    onStep?.(step, hash, receipt.gasUsed);
    return receipt;
  };

  const deploy = async (step: string, abi: readonly unknown[], bytecode: Hex, args: readonly unknown[]): Promise<Address> => {
    const hash = await walletClient.deployContract({ abi, bytecode, args, chain, account: walletClient.account } as Parameters<typeof walletClient.deployContract>[0]);
    const receipt = await confirm(step, hash);
    if (!receipt.contractAddress) throw new Error(`deploy step "${step}" created no contract (transaction ${hash})`);
    return getAddress(receipt.contractAddress);
  };

  const modelRegistry = await deploy("ModelRegistry", modelRegistryAbi, modelRegistryBytecode, [owner]);
  const nodeRegistry = await deploy("NodeRegistryWithModels", nodeRegistryWithModelsAbi, nodeRegistryWithModelsBytecode, [modelRegistry]);
  const proofSystem = await deploy("ProofSystem", proofSystemAbi, proofSystemBytecode, [owner]);
  const jobMarketplace = await deploy("JobMarketplaceWithModels", jobMarketplaceWithModelsAbi, jobMarketplaceWithModelsBytecode, [
    nodeRegistry,
    proofSystem,
    treasury,
    owner,
  ]);
  const hostEarnings = await publicClient.readContract({ address: jobMarketplace, abi: jobMarketplaceWithModelsAbi, functionName: "hostEarnings" });

  const usdc = parameters.deployTestUsdc ? await deploy("TestUSDC", testUsdcAbi, testUsdcBytecode, []) : parameters.stableToken;
  if (usdc) {
    const { minDeposit, minPricePerToken, maxPricePerToken } = stableAssetLimits;
    await confirm(
      "JobMarketplaceWithModels.configureAsset(USDC)",
      await walletClient.writeContract({
        address: jobMarketplace,
        abi: jobMarketplaceWithModelsAbi,
        functionName: "configureAsset",
        args: [usdc, minDeposit, minPricePerToken, maxPricePerToken],
        chain,
        account: walletClient.account,
      }),
    );
  }

  return {
    chainId: await publicClient.getChainId(),
    modelRegistry,
    nodeRegistry,
    proofSystem,
    hostEarnings,
    jobMarketplace,
    treasury,
    owner,
    usdc,
    deployedAtBlock: String(firstBlock ?? 0n),
  };
}
