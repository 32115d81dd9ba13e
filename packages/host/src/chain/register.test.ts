/**
 * `registerHost` while another sender uses the host's account (a running node's proofs): the
 * collision on the nonce is made real through an RPC relay that, before forwarding each of the
 * registration's transactions, has the host's account send another with the same nonce and mines it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWalletClient, http, type TransactionSerializable } from "viem";
import { nodeRegistryWithModelsAbi } from "@session-jobs/contracts/abis";
import type { HostConfig } from "../config/config.ts";
import { startRpcGate, type RpcGate } from "../testUtils/rpcGate.ts";
import { startTestChain, type TestChain } from "../testUtils/testChain.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";
import { registerHost, RegisterNonceError } from "./register.ts";

const tempDir = tempDirsRemovedAfterAll();
let chain: TestChain;
let gate: RpcGate;
let config: HostConfig;

beforeAll(async () => {
  chain = await startTestChain();
  gate = await startRpcGate(chain.anvil.rpcUrl);
  config = { ...chain.hostConfig({ dbPath: `${tempDir("register-")}/host.sqlite` }), rpcUrl: gate.url };
}, 60_000);

afterAll(async () => {
  await gate?.close();
  await chain?.stop();
});

/** The host's account sends a transfer to itself with `transaction`'s nonce, straight to anvil, and it is mined first. */
async function takeNonceFirst(transaction: TransactionSerializable): Promise<void> {
  const wallet = createWalletClient({ account: config.account, transport: http(chain.anvil.rpcUrl) });
  const hash = await wallet.sendTransaction({ to: config.account.address, value: 0n, nonce: transaction.nonce!, chain: null });
  await chain.publicClient.waitForTransactionReceipt({ hash });
}

const registeredUrl = async () =>
  (
    await chain.publicClient.readContract({
      address: config.contracts.nodeRegistry,
      abi: nodeRegistryWithModelsAbi,
      functionName: "getNode",
      args: [config.account.address],
    })
  ).apiUrl;

describe("registerHost while another sender takes the host account's nonce", () => {
  it("signs the step again with a fresh nonce and registers", async () => {
    let collisions = 0;
    gate.precede(async (transaction) => {
      if (collisions++ === 0) await takeNonceFirst(transaction);
    });
    try {
      const { action, transactions } = await registerHost({ config });
      expect(action).toBe("registered");
      expect(transactions.map((transaction) => transaction.step)).toEqual(["registerNode", "updatePricingNative"]);
    } finally {
      gate.precede(undefined);
    }
    // The first signing of registerNode collided; each step's next went through.
    expect(collisions).toBe(3);
    expect(await registeredUrl()).toBe(config.publicUrl);
  });

  it("gives up after a few refusals with one line that names the step, and a hint", async () => {
    const moved = { ...config, publicUrl: "http://127.0.0.1:9090" };
    gate.precede(takeNonceFirst);
    try {
      const error = await registerHost({ config: moved }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RegisterNonceError);
      expect((error as RegisterNonceError).message).toBe(
        "updateApiUrl: another transaction from the host's account took the step's nonce 5 times (refused ours as used, or replaced ours in the pool)",
      );
      expect((error as RegisterNonceError).hint).toMatch(/running host node/);
    } finally {
      gate.precede(undefined);
    }
    expect(await registeredUrl()).toBe(config.publicUrl);
    expect((await registerHost({ config: moved })).transactions.map((transaction) => transaction.step)).toEqual(["updateApiUrl"]);
    expect(await registeredUrl()).toBe("http://127.0.0.1:9090");
  });

  it("does not count a step done when another transaction with its nonce replaced it in the pool: it signs the step again", async () => {
    const moved = { ...config, publicUrl: "http://127.0.0.1:9191" };
    const address = config.account.address;
    await chain.anvilRpc("evm_setAutomine", [false]);
    try {
      // Once the receipt's wait has read our pending transaction, it recognises a replacement and resolves with its receipt.
      const fetched = gate.answered("eth_getTransactionByHash");
      const running = registerHost({ config: moved });
      await fetched;
      const nonce = await chain.publicClient.getTransactionCount({ address });
      const fees = await chain.publicClient.estimateFeesPerGas();
      const wallet = createWalletClient({ account: config.account, transport: http(chain.anvil.rpcUrl) });
      await wallet.sendTransaction({
        to: address,
        value: 0n,
        nonce,
        chain: null,
        maxFeePerGas: fees.maxFeePerGas * 3n + 10n ** 9n,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas * 3n + 10n ** 9n,
      });
      await chain.anvilRpc("evm_mine");
      await chain.anvilRpc("evm_setAutomine", [true]);
      // A step signed again before automining resumed is in the pool: mine it.
      await chain.anvilRpc("evm_mine");
      const { transactions } = await running;
      expect(transactions.map((transaction) => transaction.step)).toEqual(["updateApiUrl"]);
      expect(await chain.publicClient.getTransactionReceipt({ hash: transactions[0]!.hash })).toMatchObject({ status: "success" });
    } finally {
      await chain.anvilRpc("evm_setAutomine", [true]);
    }
    expect(await registeredUrl()).toBe("http://127.0.0.1:9191");
  });
});
