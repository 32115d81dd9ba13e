/**
 * TEST HELPER: one anvil with the Session Jobs contracts deployed, an approved model, funded
 * accounts (deployer, host, user, stranger), and the test double host registered on chain.
 */
import { startLocalChain } from "@session-jobs/contracts/local-chain";
import { getAddress, keccak256, stringToHex, type Address, type Hex } from "viem";
import { readContract, writeContract } from "viem/actions";
import { erc20Abi } from "viem";
import { testUsdcAbi } from "@session-jobs/contracts/abis";
import { jobMarketplaceWithModelsAbi, modelRegistryAbi, nodeRegistryWithModelsAbi } from "../abis.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { encodeCheckpointProof } from "@session-jobs/protocol";
import { startTestHost, type StoredReceipt } from "./testHost.ts";

/** The test host's prices: stable (USDC base units per token) and native (wei per token). */
export const hostPrices = { stable: 2_000n, native: 2_000_000_000n } as const;

export type TestChain = Awaited<ReturnType<typeof startTestChain>>;

export async function startTestChain() {
  const local = await startLocalChain({ deployTestUsdc: true });
  const { anvil, chain, publicClient, wallet, deployment: deployed } = local;
  const deployer = wallet(0);
  const hostWallet = wallet(1);
  const userWallet = wallet(2);
  const strangerWallet = wallet(3);

  const usdc = getAddress(deployed.usdc as Address);
  const contracts = {
    jobMarketplace: getAddress(deployed.jobMarketplace),
    nodeRegistry: getAddress(deployed.nodeRegistry),
    modelRegistry: getAddress(deployed.modelRegistry),
    hostEarnings: getAddress(deployed.hostEarnings),
    usdc,
  };

  const repo = "session-jobs/test";
  const fileName = "deterministic.gguf";
  const modelId = await readContract(publicClient, {
    address: contracts.modelRegistry,
    abi: modelRegistryAbi,
    functionName: "getModelId",
    args: [repo, fileName],
  });
  await writeAndWait(publicClient, "addModel", () =>
    writeContract(deployer, {
      address: contracts.modelRegistry,
      abi: modelRegistryAbi,
      functionName: "addModel",
      args: [repo, fileName, keccak256(stringToHex(fileName))],
    }),
  );
  await writeAndWait(publicClient, "mint", () =>
    writeContract(deployer, { address: usdc, abi: testUsdcAbi, functionName: "mint", args: [userWallet.account.address, 1_000_000_000n] }),
  );

  const host = await startTestHost({
    domain: { chainId: anvil.chainId, marketplace: contracts.jobMarketplace },
    signerOf: async (jobId) => {
      const session = await readContract(publicClient, {
        address: contracts.jobMarketplace,
        abi: jobMarketplaceWithModelsAbi,
        functionName: "getSession",
        args: [jobId],
      });
      return session.status === 1 && session.host === hostWallet.account.address ? session.signer : undefined;
    },
    settle: (jobId, receipt) => settleAsHost(jobId, receipt),
  });
  await writeAndWait(publicClient, "registerNode", () =>
    writeContract(hostWallet, {
      address: contracts.nodeRegistry,
      abi: nodeRegistryWithModelsAbi,
      functionName: "registerNode",
      args: ['{"test":true}', host.url, [modelId], hostPrices.stable],
    }),
  );
  await writeAndWait(publicClient, "updatePricingNative", () =>
    writeContract(hostWallet, {
      address: contracts.nodeRegistry,
      abi: nodeRegistryWithModelsAbi,
      functionName: "updatePricingNative",
      args: [hostPrices.native],
    }),
  );

  /** The host proves everything a receipt covers beyond what is proven (submitProofOfWork). */
  async function proveAsHost(jobId: bigint, receipt: StoredReceipt) {
    const proven = await provenTokens(jobId);
    return writeAndWait(publicClient, "submitProofOfWork", () =>
      writeContract(hostWallet, {
        address: contracts.jobMarketplace,
        abi: jobMarketplaceWithModelsAbi,
        functionName: "submitProofOfWork",
        args: [jobId, encodeCheckpointProof(receipt), receipt.cumulativeTokens - proven],
      }),
    );
  }

  /** What the host node does on close: prove the newest receipt and settle in one call. */
  async function settleAsHost(jobId: bigint, receipt: StoredReceipt | undefined): Promise<Hex> {
    const proven = await provenTokens(jobId);
    const { transactionHash } =
      receipt && receipt.cumulativeTokens > proven
        ? await writeAndWait(publicClient, "submitProofAndComplete", () =>
            writeContract(hostWallet, {
              address: contracts.jobMarketplace,
              abi: jobMarketplaceWithModelsAbi,
              functionName: "submitProofAndComplete",
              args: [jobId, encodeCheckpointProof(receipt), receipt.cumulativeTokens - proven],
            }),
          )
        : await writeAndWait(publicClient, "completeSessionJob", () =>
            writeContract(hostWallet, {
              address: contracts.jobMarketplace,
              abi: jobMarketplaceWithModelsAbi,
              functionName: "completeSessionJob",
              args: [jobId],
            }),
          );
    return transactionHash;
  }

  async function provenTokens(jobId: bigint) {
    const session = await readContract(publicClient, {
      address: contracts.jobMarketplace,
      abi: jobMarketplaceWithModelsAbi,
      functionName: "getSession",
      args: [jobId],
    });
    return session.provenTokens;
  }

  /** The host sets its minimum deposit for one asset (the zero address: ETH; 0 clears it). */
  const setHostMinDeposit = (token: Address, amount: bigint) =>
    writeAndWait(publicClient, "updateMinDeposit", () =>
      writeContract(hostWallet, { address: contracts.nodeRegistry, abi: nodeRegistryWithModelsAbi, functionName: "updateMinDeposit", args: [token, amount] }),
    );

  /** Registers the stranger as a second host serving the model at `apiUrl` (stable minimum 1,500). */
  const registerStranger = (apiUrl: string) =>
    writeAndWait(publicClient, "registerNode", () =>
      writeContract(strangerWallet, {
        address: contracts.nodeRegistry,
        abi: nodeRegistryWithModelsAbi,
        functionName: "registerNode",
        args: ["{}", apiUrl, [modelId], 1_500n],
      }),
    );

  const usdcBalance = (address: Address) => readContract(publicClient, { address: usdc, abi: erc20Abi, functionName: "balanceOf", args: [address] });

  return {
    anvil,
    chain,
    publicClient,
    deployer,
    hostWallet,
    userWallet,
    strangerWallet,
    contracts,
    modelId,
    host: host,
    proveAsHost,
    provenTokens,
    setHostMinDeposit,
    registerStranger,
    usdcBalance,
    stop: async () => {
      await host.stop();
      await local.stop();
    },
  };
}
