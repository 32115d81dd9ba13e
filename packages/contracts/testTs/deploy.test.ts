import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashTypedData, keccak256, parseEther, stringToHex, type Hex } from "viem";
import { hostEarningsAbi, jobMarketplaceWithModelsAbi, nodeRegistryWithModelsAbi, testUsdcAbi } from "../generated/abis.ts";
import { checkpointTypes } from "../ts/eip712.ts";
import { hostMinPrice, startLocalSessionJobs, type LocalSessionJobs } from "../scripts/lib/localSessionJobs.ts";

describe("deploySessionJobs on anvil", () => {
  let local: LocalSessionJobs;

  beforeAll(async () => {
    local = await startLocalSessionJobs();
  }, 60_000);

  afterAll(async () => {
    await local?.stop();
  });

  it("wires the contracts and accepts TestUSDC with the seed's limits", async () => {
    const { publicClient, deployment, usdc } = local;
    expect(deployment.chainId).toBe(local.anvil.chainId);
    const marketplace = { address: deployment.jobMarketplace, abi: jobMarketplaceWithModelsAbi } as const;
    expect(await publicClient.readContract({ ...marketplace, functionName: "nodeRegistry" })).toBe(deployment.nodeRegistry);
    expect(await publicClient.readContract({ ...marketplace, functionName: "hostEarnings" })).toBe(deployment.hostEarnings);
    expect(await publicClient.readContract({ ...marketplace, functionName: "proofSystem" })).toBe(deployment.proofSystem);
    expect(await publicClient.readContract({ ...marketplace, functionName: "treasury" })).toBe(deployment.treasury);
    expect(await publicClient.readContract({ address: deployment.hostEarnings, abi: hostEarningsAbi, functionName: "marketplace" })).toBe(
      deployment.jobMarketplace,
    );
    const config = await publicClient.readContract({ ...marketplace, functionName: "getAssetConfig", args: [usdc] });
    expect(config).toMatchObject({ accepted: true, assetId: 1, minDeposit: 800_000n, minPricePerToken: 100n, maxPricePerToken: 100_000n });
    expect(await publicClient.readContract({ address: usdc, abi: testUsdcAbi, functionName: "decimals" })).toBe(6);
  });

  it("the contract's checkpoint digest equals viem's hashTypedData", async () => {
    const { publicClient, deployment } = local;
    const message = { jobId: 7n, cumulativeTokens: 1234n, transcriptHash: keccak256(stringToHex("t")) };
    const viemDigest = hashTypedData({
      domain: { name: "SessionJobs", version: "1", chainId: local.anvil.chainId, verifyingContract: deployment.jobMarketplace },
      types: checkpointTypes,
      primaryType: "Checkpoint",
      message,
    });
    const contractDigest = await publicClient.readContract({
      address: deployment.jobMarketplace,
      abi: jobMarketplaceWithModelsAbi,
      functionName: "hashCheckpoint",
      args: [message.jobId, message.cumulativeTokens, message.transcriptHash],
    });
    expect(contractDigest).toBe(viemDigest);
  });

  it("runs an ETH session round trip with a receipt signed by signTypedData", async () => {
    const { publicClient, deployment, send, signCheckpoint } = local;
    const { host, user } = local.wallets;
    const marketplace = { address: deployment.jobMarketplace, abi: jobMarketplaceWithModelsAbi } as const;

    const nativeMinimum = await publicClient.readContract({
      address: deployment.nodeRegistry,
      abi: nodeRegistryWithModelsAbi,
      functionName: "getNodePricingFor",
      args: [host.account.address, "0x0000000000000000000000000000000000000000"],
    });
    expect(
      await publicClient.readContract({
        address: deployment.nodeRegistry,
        abi: nodeRegistryWithModelsAbi,
        functionName: "getNodePricing",
        args: [host.account.address],
      }),
    ).toBe(hostMinPrice);
    const price = nativeMinimum * 2n;
    const deposit = parseEther("0.01");

    const jobId = await local.nextJobId();
    await send(user, { ...marketplace, functionName: "createSessionJob", args: [host.account.address, price, 3600n, 1000n], value: deposit });

    const transcriptHash: Hex = keccak256(stringToHex("exchange 1"));
    const proof = await signCheckpoint(user.account, jobId, 1000n, transcriptHash);
    const proofReceipt = await send(host, { ...marketplace, functionName: "submitProofOfWork", args: [jobId, proof, 1000n] });
    expect(proofReceipt.logs.length).toBe(1);
    const session = await publicClient.readContract({ ...marketplace, functionName: "getSession", args: [jobId] });
    expect(session.provenTokens).toBe(1000n);
    expect(session.signer).toBe(user.account.address);

    const balanceBefore = await publicClient.getBalance({ address: user.account.address });
    const completion = await send(user, { ...marketplace, functionName: "completeSessionJob", args: [jobId] });
    const gasCost = completion.gasUsed * completion.effectiveGasPrice;
    const payment = 1000n * price;
    const fee = payment / 10n;
    expect(await publicClient.getBalance({ address: user.account.address })).toBe(balanceBefore - gasCost + deposit - payment);
    expect(await publicClient.readContract({ ...marketplace, functionName: "accumulatedTreasuryETH" })).toBe(fee);
    expect(
      await publicClient.readContract({
        address: deployment.hostEarnings,
        abi: hostEarningsAbi,
        functionName: "getBalance",
        args: [host.account.address, "0x0000000000000000000000000000000000000000"],
      }),
    ).toBe(payment - fee);
    expect((await publicClient.readContract({ ...marketplace, functionName: "getSession", args: [jobId] })).status).toBe(2);
  });
});
