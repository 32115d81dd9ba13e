import { parseEther, zeroAddress, zeroHash } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getBlock, getTransactionCount, writeContract } from "viem/actions";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { nodeRegistryWithModelsAbi } from "@session-jobs/contracts/abis";
import {
  CheckpointIntervalAboveHostMaxError,
  DepositBelowHostMinimumError,
  HostNotRegisteredError,
  InsufficientDepositError,
  PriceBelowHostMinimumError,
} from "../errors/contract.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { HostUnreachableError, InvalidHostUrlError } from "../errors/host.ts";
import { hostPrices, startTestChain, type TestChain } from "../testUtils/chain.ts";
import { getHostInfo } from "./getHostInfo.ts";
import { getSession } from "./getSession.ts";
import { openSession } from "./openSession.ts";

let t: TestChain;
beforeAll(async () => {
  t = await startTestChain();
});
afterAll(() => t?.stop());

const nonceOf = (address: `0x${string}`) => getTransactionCount(t.publicClient, { address });

describe("openSession", () => {
  it("opens an ETH session at the host's native minimum with a fresh session key, in one transaction", async () => {
    const user = t.userWallet.account.address;
    const noncesBefore = await nonceOf(user);
    const { session } = await openSession(t.userWallet, {
      contracts: t.contracts,
      host: t.hostWallet.account.address,
      modelId: t.modelId,
      deposit: parseEther("0.001"),
    });
    expect(await nonceOf(user)).toBe(noncesBefore + 1);
    expect(session.pricePerToken).toBe(hostPrices.native);
    expect(session.token).toBe(zeroAddress);
    expect(session.hostUrl).toBe(t.host.url);
    expect(session.chainId).toBe(t.anvil.chainId);
    const onChain = await getSession(t.publicClient, { marketplace: t.contracts.jobMarketplace, jobId: session.jobId });
    expect(onChain).toMatchObject({
      status: "active",
      depositor: user,
      host: t.hostWallet.account.address,
      token: zeroAddress,
      signer: privateKeyToAccount(session.sessionKey).address,
      modelId: zeroHash, // kept on chain only for a model with a verifier; SessionJobCreated has it
      depositAmount: parseEther("0.001"),
      pricePerToken: hostPrices.native,
      checkpointInterval: 1000n,
      provenTokens: 0n,
    });
    expect(onChain.signer).not.toBe(user);
  });

  it("opens a USDC session with a permit in one transaction", async () => {
    const user = t.userWallet.account.address;
    const noncesBefore = await nonceOf(user);
    const balanceBefore = await t.usdcBalance(user);
    const { session, approvalTransactionHash } = await openSession(t.userWallet, {
      contracts: t.contracts,
      host: t.hostWallet.account.address,
      token: t.contracts.usdc,
      deposit: 5_000_000n,
    });
    expect(approvalTransactionHash).toBeUndefined();
    expect(await nonceOf(user)).toBe(noncesBefore + 1);
    expect(await t.usdcBalance(user)).toBe(balanceBefore - 5_000_000n);
    expect(session.pricePerToken).toBe(hostPrices.stable);
    expect(session.modelId).toBe(zeroHash);
    expect(session.model).toBe("test-model");
    const onChain = await getSession(t.publicClient, { marketplace: t.contracts.jobMarketplace, jobId: session.jobId });
    expect(onChain).toMatchObject({ status: "active", token: t.contracts.usdc, depositAmount: 5_000_000n });
  });

  it("opens a USDC session with approve then create", async () => {
    const { session, approvalTransactionHash } = await openSession(t.userWallet, {
      contracts: t.contracts,
      host: t.hostWallet.account.address,
      token: t.contracts.usdc,
      deposit: 1_000_000n,
      approval: "approve",
      pricePerToken: hostPrices.stable + 500n,
    });
    expect(approvalTransactionHash).toMatch(/^0x[0-9a-f]{64}$/);
    const onChain = await getSession(t.publicClient, { marketplace: t.contracts.jobMarketplace, jobId: session.jobId });
    expect(onChain).toMatchObject({ status: "active", token: t.contracts.usdc, pricePerToken: hostPrices.stable + 500n });
  });

  it("refuses a price below the host's minimum before sending anything", async () => {
    const user = t.userWallet.account.address;
    const noncesBefore = await nonceOf(user);
    const error = await openSession(t.userWallet, {
      contracts: t.contracts,
      host: t.hostWallet.account.address,
      deposit: parseEther("0.001"),
      pricePerToken: hostPrices.native - 1n,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PriceBelowHostMinimumError);
    expect((error as PriceBelowHostMinimumError).metaMessages).toContain(`Host minimum: ${hostPrices.native} per token`);
    expect(await nonceOf(user)).toBe(noncesBefore);
  });

  it("refuses to deposit with a host that does not answer", async () => {
    const user = t.userWallet.account.address;
    const noncesBefore = await nonceOf(user);
    await expect(
      openSession(t.userWallet, {
        contracts: t.contracts,
        host: t.hostWallet.account.address,
        hostUrl: "http://127.0.0.1:9",
        deposit: parseEther("0.001"),
      }),
    ).rejects.toBeInstanceOf(HostUnreachableError);
    expect(await nonceOf(user)).toBe(noncesBefore);
  });

  it("refuses a host URL that is not an http(s) URL before depositing, also without the host check", async () => {
    const user = t.userWallet.account.address;
    const noncesBefore = await nonceOf(user);
    for (const checkHost of [true, false])
      await expect(
        openSession(t.userWallet, {
          contracts: t.contracts,
          host: t.hostWallet.account.address,
          hostUrl: "not a url",
          checkHost,
          deposit: parseEther("0.001"),
        }),
      ).rejects.toMatchObject({ name: InvalidHostUrlError.name, url: "not a url" });
    expect(await nonceOf(user)).toBe(noncesBefore);
  });

  it("refuses an unregistered host before sending anything", async () => {
    await expect(
      openSession(t.userWallet, { contracts: t.contracts, host: t.strangerWallet.account.address, deposit: parseEther("0.001") }),
    ).rejects.toBeInstanceOf(HostNotRegisteredError);
  });

  it('decodes the contract\'s "Insufficient deposit" revert', async () => {
    await expect(
      openSession(t.userWallet, { contracts: t.contracts, host: t.hostWallet.account.address, deposit: parseEther("0.0001") }),
    ).rejects.toBeInstanceOf(InsufficientDepositError);
  });

  it("states the least deposit the marketplace takes, before sending anything", async () => {
    const user = t.userWallet.account.address;
    const noncesBefore = await nonceOf(user);
    const error = await openSession(t.userWallet, { contracts: t.contracts, host: t.hostWallet.account.address, deposit: 1_000n }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InsufficientDepositError);
    expect(error).toMatchObject({ deposit: 1_000n, minimum: parseEther("0.0002") });
    expect((error as InsufficientDepositError).metaMessages).toContain("Minimum: 200000000000000 base units");
    expect(await nonceOf(user)).toBe(noncesBefore);
  });

  it("refuses a deposit below the host's minimum for the asset before sending anything; exactly the minimum opens", async () => {
    const host = t.hostWallet.account.address;
    const usdc = t.contracts.usdc;
    const hostInfo = (token?: `0x${string}`) => getHostInfo(t.publicClient, { nodeRegistry: t.contracts.nodeRegistry, host, token });
    expect((await hostInfo()).minDeposit).toBe(0n);
    await t.setHostMinDeposit(usdc, 3_000_000n);
    await t.setHostMinDeposit(zeroAddress, parseEther("0.002"));
    try {
      expect((await hostInfo(usdc)).minDeposit).toBe(3_000_000n);
      expect((await hostInfo()).minDeposit).toBe(parseEther("0.002"));
      const user = t.userWallet.account.address;
      const noncesBefore = await nonceOf(user);
      for (const [token, minimum] of [
        [usdc, 3_000_000n],
        [zeroAddress, parseEther("0.002")],
      ] as const) {
        const error = await openSession(t.userWallet, { contracts: t.contracts, host, token, deposit: minimum - 1n }).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(DepositBelowHostMinimumError);
        expect(error).toMatchObject({ deposit: minimum - 1n, minimum });
        // The SDK's own check, not the contract's revert decoded from a failed gas estimate.
        expect((error as DepositBelowHostMinimumError).cause).toBeUndefined();
      }
      expect(await nonceOf(user)).toBe(noncesBefore);

      const { session } = await openSession(t.userWallet, { contracts: t.contracts, host, token: usdc, deposit: 3_000_000n, approval: "approve" });
      const onChain = await getSession(t.publicClient, { marketplace: t.contracts.jobMarketplace, jobId: session.jobId });
      expect(onChain).toMatchObject({ status: "active", token: usdc, depositAmount: 3_000_000n });
    } finally {
      await t.setHostMinDeposit(usdc, 0n);
      await t.setHostMinDeposit(zeroAddress, 0n);
    }
  });

  it("picks an interval the host accepts, and refuses a larger one before sending anything", async () => {
    const host = t.hostWallet.account.address;
    const setHostMax = (interval: bigint) =>
      writeAndWait(t.publicClient, "updateMaxCheckpointInterval", () =>
        writeContract(t.hostWallet, {
          address: t.contracts.nodeRegistry,
          abi: nodeRegistryWithModelsAbi,
          functionName: "updateMaxCheckpointInterval",
          args: [interval],
          chain: null,
        }),
      );
    expect((await getHostInfo(t.publicClient, { nodeRegistry: t.contracts.nodeRegistry, host })).maxCheckpointInterval).toBe(1000n);
    await setHostMax(500n);
    try {
      expect((await getHostInfo(t.publicClient, { nodeRegistry: t.contracts.nodeRegistry, host })).maxCheckpointInterval).toBe(500n);
      const { session } = await openSession(t.userWallet, { contracts: t.contracts, host, deposit: parseEther("0.001") });
      expect(session.proofInterval).toBe(500n);
      const onChain = await getSession(t.publicClient, { marketplace: t.contracts.jobMarketplace, jobId: session.jobId });
      expect(onChain.checkpointInterval).toBe(500n);

      const user = t.userWallet.account.address;
      const noncesBefore = await nonceOf(user);
      const error = await openSession(t.userWallet, { contracts: t.contracts, host, deposit: parseEther("0.001"), proofInterval: 501n }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(CheckpointIntervalAboveHostMaxError);
      expect(error).toMatchObject({ proofInterval: 501n, hostMax: 500n });
      expect(await nonceOf(user)).toBe(noncesBefore);
    } finally {
      await setHostMax(1000n);
    }
  });

  /** Opens a USDC session with the default permit and checks it is active on chain with its deposit. */
  const expectPermitOpens = async () => {
    const { session } = await openSession(t.userWallet, {
      contracts: t.contracts,
      host: t.hostWallet.account.address,
      token: t.contracts.usdc,
      deposit: 1_000_000n,
    });
    const onChain = await getSession(t.publicClient, { marketplace: t.contracts.jobMarketplace, jobId: session.jobId });
    expect(onChain).toMatchObject({ status: "active", token: t.contracts.usdc, depositAmount: 1_000_000n });
  };
  // Last two: they move the chain's clock on for good.
  it("opens with a permit on a chain whose clock runs hours ahead of this machine's: the permit's deadline is an hour on the chain's clock", async () => {
    await t.publicClient.request({ method: "evm_increaseTime", params: [2 * 3600] } as never);
    await t.publicClient.request({ method: "evm_mine", params: [] } as never);
    await expectPermitOpens();
  });

  // An automining chain idle for two hours: its latest block is two hours old, and the next one is stamped with the machine's time.
  it("opens with a permit on an automining chain idle for two hours: the deadline is an hour after the later of the latest block and the machine's clock", async () => {
    const latest = (await getBlock(t.publicClient, { blockTag: "latest" })).timestamp;
    const now = latest + 2n * 3600n;
    await t.publicClient.request({ method: "evm_setNextBlockTimestamp", params: [Number(now)] } as never);
    vi.useFakeTimers({ toFake: ["Date"], now: Number(now) * 1000 });
    try {
      await expectPermitOpens();
    } finally {
      vi.useRealTimers();
    }
  });
});
