import { zeroAddress } from "viem";
import { writeContract } from "viem/actions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeRegistryWithModelsAbi } from "../abis.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { HostNotRegisteredError } from "../errors/contract.ts";
import { hostPrices, startTestChain, type TestChain } from "../testUtils/chain.ts";
import { getHostInfo } from "./getHostInfo.ts";
import { getHostsForModel } from "./getHostsForModel.ts";
import { getNodePricing } from "./getNodePricing.ts";

let t: TestChain;
beforeAll(async () => {
  t = await startTestChain();
  // A second host, cheaper in USDC, dearer in ETH, at another URL.
  await t.registerStranger("http://second.example");
  await writeAndWait(t.publicClient, "updatePricingNative", () =>
    writeContract(t.strangerWallet, {
      address: t.contracts.nodeRegistry,
      abi: nodeRegistryWithModelsAbi,
      functionName: "updatePricingNative",
      args: [hostPrices.native * 2n],
    }),
  );
});
afterAll(() => t?.stop());

describe("discovery and pricing", () => {
  it("getNodePricing reads the stable minimum, and the minimum for ETH or an ERC-20", async () => {
    const { nodeRegistry } = t.contracts;
    const host = t.hostWallet.account.address;
    expect(await getNodePricing(t.publicClient, { nodeRegistry, host })).toBe(hostPrices.stable);
    expect(await getNodePricing(t.publicClient, { nodeRegistry, host, token: zeroAddress })).toBe(hostPrices.native);
    expect(await getNodePricing(t.publicClient, { nodeRegistry, host, token: t.contracts.usdc })).toBe(hostPrices.stable);
    await expect(getNodePricing(t.publicClient, { nodeRegistry, host: t.deployer.account.address })).rejects.toBeInstanceOf(HostNotRegisteredError);
  });

  it("getHostInfo returns the registration", async () => {
    const info = await getHostInfo(t.publicClient, { nodeRegistry: t.contracts.nodeRegistry, host: t.hostWallet.account.address });
    expect(info).toMatchObject({
      address: t.hostWallet.account.address,
      active: true,
      metadata: '{"test":true}',
      apiUrl: t.host.url,
      modelIds: [t.modelId],
      minPricePerToken: hostPrices.stable,
      minPricePerTokenNative: hostPrices.native,
    });
    expect(info.registeredAt).toBeGreaterThan(0n);
    await expect(getHostInfo(t.publicClient, { nodeRegistry: t.contracts.nodeRegistry, host: t.deployer.account.address })).rejects.toBeInstanceOf(
      HostNotRegisteredError,
    );
  });

  it("getHostsForModel finds the hosts serving a model, cheapest first for an asset", async () => {
    const { nodeRegistry } = t.contracts;
    const host = t.hostWallet.account.address;
    const second = t.strangerWallet.account.address;
    const all = await getHostsForModel(t.publicClient, { nodeRegistry, modelId: t.modelId });
    expect(all.map((info) => info.address).sort()).toEqual([host, second].sort());
    const byUsdc = await getHostsForModel(t.publicClient, { nodeRegistry, modelId: t.modelId, sortByPriceFor: t.contracts.usdc });
    expect(byUsdc.map((info) => info.address)).toEqual([second, host]);
    const byEth = await getHostsForModel(t.publicClient, { nodeRegistry, modelId: t.modelId, sortByPriceFor: zeroAddress });
    expect(byEth.map((info) => info.address)).toEqual([host, second]);
    expect(await getHostsForModel(t.publicClient, { nodeRegistry, modelId: `0x${"ee".repeat(32)}` })).toEqual([]);

    await writeAndWait(t.publicClient, "unregisterNode", () =>
      writeContract(t.strangerWallet, { address: nodeRegistry, abi: nodeRegistryWithModelsAbi, functionName: "unregisterNode" }),
    );
    expect((await getHostsForModel(t.publicClient, { nodeRegistry, modelId: t.modelId })).map((info) => info.address)).toEqual([host]);
  });
});
