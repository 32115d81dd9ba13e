/**
 * A local Session Jobs network for the deploy test and the gas benchmark: anvil, the five
 * contracts (deploySessionJobs) with TestUSDC, one approved model, a registered host, a funded
 * user, and checkpoint receipts signed with viem's signTypedData exactly as docs/design.md says.
 */
import {
  concat,
  createTestClient,
  type Abi,
  type Account,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hex,
  type TransactionReceipt,
} from "viem";
import { jobMarketplaceWithModelsAbi, modelRegistryAbi, nodeRegistryWithModelsAbi, testUsdcAbi } from "../../generated/abis.ts";
import { checkpointTypes, sessionJobsDomainName, sessionJobsDomainVersion } from "../../ts/eip712.ts";
import { startLocalChain } from "../../ts/localChain.ts";

/** The seed's host minimum (stable units per token). */
export const hostMinPrice = 1500n;

export type LocalSessionJobs = Awaited<ReturnType<typeof startLocalSessionJobs>>;

export async function startLocalSessionJobs() {
  const local = await startLocalChain({ deployTestUsdc: true });
  const { anvil, chain, transport, publicClient, wallet, deployment } = local;
  const testClient = createTestClient({ chain, transport, mode: "anvil" });
  const deployer = wallet(0);
  const host = wallet(1);
  const user = wallet(2);
  const stranger = wallet(3);
  const usdc = deployment.usdc;
  if (!usdc) throw new Error("TestUSDC was not deployed");

  /** Sends a contract call and waits for a successful receipt. */
  async function send<const abi extends Abi, functionName extends ContractFunctionName<abi, "nonpayable" | "payable">>(
    from: ReturnType<typeof wallet>,
    call: {
      address: Address;
      abi: abi;
      functionName: functionName;
      args: ContractFunctionArgs<abi, "nonpayable" | "payable", functionName>;
      value?: bigint;
    },
  ): Promise<TransactionReceipt> {
    const hash = await from.writeContract({ ...call, chain, account: from.account } as never);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${call.functionName} reverted (${hash})`);
    return receipt;
  }

  const modelId = await publicClient.readContract({
    address: deployment.modelRegistry,
    abi: modelRegistryAbi,
    functionName: "getModelId",
    args: ["session-jobs/kjv-bpe-llama", "kjv-bpe-llama.gguf"],
  });
  await send(deployer, {
    address: deployment.modelRegistry,
    abi: modelRegistryAbi,
    functionName: "addModel",
    args: ["session-jobs/kjv-bpe-llama", "kjv-bpe-llama.gguf", `0x${"11".repeat(32)}`],
  });
  await send(host, {
    address: deployment.nodeRegistry,
    abi: nodeRegistryWithModelsAbi,
    functionName: "registerNode",
    args: ['{"gpu":"none"}', "http://127.0.0.1:8080", [modelId], hostMinPrice],
  });
  await send(user, { address: usdc, abi: testUsdcAbi, functionName: "mint", args: [user.account.address, 1_000_000_000_000n] });

  /** `abi.encodePacked(transcriptHash, signature)` signed by `signer` with viem's signTypedData. */
  async function signCheckpoint(signer: Account, jobId: bigint, cumulativeTokens: bigint, transcriptHash: Hex): Promise<Hex> {
    if (!signer.signTypedData) throw new Error("signer cannot sign typed data");
    const signature = await signer.signTypedData({
      domain: { name: sessionJobsDomainName, version: sessionJobsDomainVersion, chainId: anvil.chainId, verifyingContract: deployment.jobMarketplace },
      types: checkpointTypes,
      primaryType: "Checkpoint",
      message: { jobId, cumulativeTokens, transcriptHash },
    });
    return concat([transcriptHash, signature]);
  }

  /** The id the next created session will get. */
  const nextJobId = () => publicClient.readContract({ address: deployment.jobMarketplace, abi: jobMarketplaceWithModelsAbi, functionName: "nextJobId" });

  return {
    anvil,
    chain,
    publicClient,
    testClient,
    deployment,
    usdc,
    modelId,
    wallets: { deployer, host, user, stranger },
    send,
    signCheckpoint,
    nextJobId,
    stop: local.stop,
  };
}
