import {
  createPublicClient,
  createWalletClient,
  encodeDeployData,
  http,
  encodeFunctionData,
  getAddress,
  getContractAddress,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { jobMarketplaceWithModelsAbi, modelRegistryAbi, nodeRegistryWithModelsAbi, proofSystemAbi, testUsdcAbi } from "../generated/abis.ts";
import {
  jobMarketplaceWithModelsBytecode,
  modelRegistryBytecode,
  nodeRegistryWithModelsBytecode,
  proofSystemBytecode,
  testUsdcBytecode,
} from "../generated/bytecode.ts";
import { startAnvil } from "./anvil.ts";

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

/** The contract address fields of a deployment, labelled for people, in deployment order. */
export const deploymentContracts = [
  ["modelRegistry", "ModelRegistry"],
  ["nodeRegistry", "NodeRegistryWithModels"],
  ["proofSystem", "ProofSystem"],
  ["jobMarketplace", "JobMarketplaceWithModels"],
  ["hostEarnings", "HostEarnings (created by the marketplace)"],
  ["usdc", "stable token (USDC)"],
] as const satisfies readonly (readonly [keyof SessionJobsDeployment, string])[];

export type DeploySessionJobsParameters = {
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  publicClient: PublicClient;
  /** Receives the 10% fee. Default: the deployer. */
  treasury?: Address | undefined;
  /** Deploy TestUSDC and accept it (0.80 USDC minimum deposit, 100..100,000 per token). */
  deployTestUsdc?: boolean | undefined;
  /** An existing ERC-20 to accept as the stable asset instead (with the same limits). */
  stableToken?: Address | undefined;
  /** Called after each transaction is mined; `address` is the contract it created, if any. */
  onStep?: ((step: DeployStepResult) => void) | undefined;
  /** Stops between transactions and while waiting for one (the error names what was deployed). */
  signal?: AbortSignal | undefined;
};

/** One transaction of a deployment. */
export type DeployStep = { name: string; data: Hex; to?: Address | undefined; creates?: Address | undefined };
export type DeployStepResult = { name: string; address: Address | undefined; transactionHash: Hash; gasUsed: bigint };

/** The transactions of a deployment from a given nonce, and the addresses they will create. */
export type DeploymentPlan = { steps: DeployStep[]; deployment: Omit<SessionJobsDeployment, "chainId" | "deployedAtBlock"> };

/** The seed's USDC limits: minimum deposit 0.80 USDC, price 100..100,000 base units per token. */
export const stableAssetLimits = { minDeposit: 800_000n, minPricePerToken: 100n, maxPricePerToken: 100_000n } as const;

/** A deployment stopped part way (interrupted, or a step failed): what exists on chain already. */
export class DeploymentIncompleteError extends Error {
  override name = "DeploymentIncompleteError";
  constructor(
    message: string,
    /** Steps whose transactions were mined. */
    readonly completed: readonly DeployStepResult[],
    /** A transaction that was sent and may still be mined. */
    readonly pendingTransaction: Hash | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Plans a deployment by `owner` starting at account nonce `nonce`: the constructors call no other
 * contract, so every address is known before anything is sent (CREATE: sender and nonce), which
 * lets a dry run simulate the whole sequence and the real run check each address it gets.
 */
export function planDeployment(parameters: {
  owner: Address;
  nonce: number;
  treasury?: Address | undefined;
  deployTestUsdc?: boolean | undefined;
  stableToken?: Address | undefined;
}): DeploymentPlan {
  const { owner } = parameters;
  const treasury = parameters.treasury ?? owner;
  let nonce = parameters.nonce;
  const steps: DeployStep[] = [];
  const create = (name: string, data: Hex): Address => {
    const address = getContractAddress({ from: owner, nonce: BigInt(nonce++) });
    steps.push({ name, data, creates: address });
    return address;
  };
  const modelRegistry = create("ModelRegistry", encodeDeployData({ abi: modelRegistryAbi, bytecode: modelRegistryBytecode, args: [owner] }));
  const nodeRegistry = create(
    "NodeRegistryWithModels",
    encodeDeployData({ abi: nodeRegistryWithModelsAbi, bytecode: nodeRegistryWithModelsBytecode, args: [modelRegistry] }),
  );
  const proofSystem = create("ProofSystem", encodeDeployData({ abi: proofSystemAbi, bytecode: proofSystemBytecode, args: [owner] }));
  const jobMarketplace = create(
    "JobMarketplaceWithModels",
    encodeDeployData({ abi: jobMarketplaceWithModelsAbi, bytecode: jobMarketplaceWithModelsBytecode, args: [nodeRegistry, proofSystem, treasury, owner] }),
  );
  // The marketplace's constructor creates HostEarnings: its first CREATE (a contract's nonce starts at 1).
  const hostEarnings = getContractAddress({ from: jobMarketplace, nonce: 1n });
  const usdc = parameters.deployTestUsdc ? create("TestUSDC", encodeDeployData({ abi: testUsdcAbi, bytecode: testUsdcBytecode })) : parameters.stableToken;
  if (usdc) {
    const { minDeposit, minPricePerToken, maxPricePerToken } = stableAssetLimits;
    steps.push({
      name: "JobMarketplaceWithModels.configureAsset(USDC)",
      to: jobMarketplace,
      data: encodeFunctionData({
        abi: jobMarketplaceWithModelsAbi,
        functionName: "configureAsset",
        args: [usdc, minDeposit, minPricePerToken, maxPricePerToken],
      }),
    });
  }
  return { steps, deployment: { modelRegistry, nodeRegistry, proofSystem, hostEarnings, jobMarketplace, treasury, owner, usdc } };
}

/** Rejects when `signal` aborts; never resolves otherwise. */
function abortion(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/**
 * Deploys and wires ModelRegistry, NodeRegistryWithModels, ProofSystem and JobMarketplaceWithModels,
 * whose constructor deploys the HostEarnings only it can credit (and TestUSDC when asked). The
 * deployer owns every contract that has an owner. A step that fails, or an abort, throws
 * {@link DeploymentIncompleteError} naming what already exists.
 *
 * @example
 * const deployment = await deploySessionJobs({ walletClient, publicClient, deployTestUsdc: true });
 */
export async function deploySessionJobs(parameters: DeploySessionJobsParameters): Promise<SessionJobsDeployment> {
  const { walletClient, publicClient, onStep, signal } = parameters;
  const account = walletClient.account;
  const [chainId, nonce] = await Promise.all([publicClient.getChainId(), publicClient.getTransactionCount({ address: account.address, blockTag: "pending" })]);
  const plan = planDeployment({ ...parameters, owner: account.address, nonce });
  const completed: DeployStepResult[] = [];
  let firstBlock: bigint | undefined;

  for (const step of plan.steps) {
    let hash: Hash | undefined;
    try {
      signal?.throwIfAborted();
      hash = await walletClient.sendTransaction({ account, chain: walletClient.chain ?? null, data: step.data, to: step.to ?? null });
      const receipt: TransactionReceipt = await Promise.race([publicClient.waitForTransactionReceipt({ hash }), abortion(signal)]);
      if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
      if (step.creates && (!receipt.contractAddress || getAddress(receipt.contractAddress) !== step.creates))
        throw new Error(
          `created ${receipt.contractAddress ?? "no contract"}, not the planned ${step.creates} (did another transaction use the deployer's account?)`,
        );
      firstBlock ??= receipt.blockNumber;
      const result = { name: step.name, address: step.creates, transactionHash: hash, gasUsed: receipt.gasUsed };
      completed.push(result);
      onStep?.(result);
    } catch (error) {
      const reason = signal?.aborted
        ? "interrupted"
        : error instanceof Error
          ? ((error as { shortMessage?: string }).shortMessage ?? error.message)
          : String(error);
      throw new DeploymentIncompleteError(`deploy step "${step.name}" failed: ${reason}`, completed, hash, { cause: error });
    }
  }

  const hostEarnings = await publicClient.readContract({
    address: plan.deployment.jobMarketplace,
    abi: jobMarketplaceWithModelsAbi,
    functionName: "hostEarnings",
  });
  if (getAddress(hostEarnings) !== plan.deployment.hostEarnings)
    throw new Error(`the marketplace reports HostEarnings at ${hostEarnings}, not ${plan.deployment.hostEarnings}`);
  return { chainId, ...plan.deployment, deployedAtBlock: String(firstBlock ?? 0n) };
}

export type DryRunResult = {
  chainId: number;
  deployment: SessionJobsDeployment;
  steps: DeployStepResult[];
  totalGas: bigint;
  /** The chain's gas price now, and the deployer's balance there. */
  gasPrice: bigint;
  balance: bigint;
};

/**
 * Runs the whole deployment on a local fork of the target chain (anvil `--fork-url`, the deployer
 * impersonated, so no key is needed) and reports the gas of every transaction and the addresses it
 * would create; nothing reaches the real chain. A fork rather than `eth_simulateV1`, which not
 * every node implements for contract creation.
 *
 * @example
 * const { steps, totalGas, gasPrice } = await simulateDeployment({ rpcUrl, publicClient, account: "0x…" });
 */
export async function simulateDeployment(
  parameters: Omit<DeploySessionJobsParameters, "walletClient" | "onStep"> & { rpcUrl: string; account: Address },
): Promise<DryRunResult> {
  const { publicClient, account, rpcUrl } = parameters;
  const [chainId, gasPrice, balance] = await Promise.all([
    publicClient.getChainId(),
    publicClient.getGasPrice(),
    publicClient.getBalance({ address: account }),
  ]);
  const fork = await startAnvil({ chainId, extraArgs: ["--fork-url", rpcUrl] });
  try {
    const transport = http(fork.rpcUrl);
    const forkClient = createPublicClient({ transport, pollingInterval: 50 }) as PublicClient;
    await forkClient.request({ method: "anvil_impersonateAccount", params: [account] } as never);
    const steps: DeployStepResult[] = [];
    const deployment = await deploySessionJobs({
      ...parameters,
      publicClient: forkClient,
      walletClient: createWalletClient({ account: { address: account, type: "json-rpc" }, transport }),
      onStep: (step) => steps.push(step),
    });
    return { chainId, deployment, steps, totalGas: steps.reduce((sum, step) => sum + step.gasUsed, 0n), gasPrice, balance };
  } finally {
    await fork.stop();
  }
}
