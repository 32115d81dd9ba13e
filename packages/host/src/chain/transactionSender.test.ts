import { join } from "node:path";
import { anvilPrivateKeys, startAnvil, type Anvil } from "@session-jobs/contracts/anvil";
import { createPublicClient, createWalletClient, HttpRequestError, http, parseAbi, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommon } from "../common.ts";
import { createStore, type SqliteStore as Store } from "../store/sqliteStore.ts";
import { createTransactionSender } from "./transactionSender.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

let anvil: Anvil;
let publicClient: PublicClient;
const common = createCommon({ logLevel: "silent" });
// A call to an address without code: it simulates, costs gas and lands, which is all a sender needs.
const call = { address: "0x000000000000000000000000000000000000dEaD", abi: parseAbi(["function ping()"]), functionName: "ping", args: [] } as const;
const entries = [{ jobId: 1n, cumulativeTokens: 100, tokensInBatch: 100 }];

function newStore(account: `0x${string}`): Store {
  return createStore({
    path: join(tempDir("host-sender-"), "host.sqlite"),
    deployment: { chainId: anvil.chainId, marketplace: call.address, host: account },
  });
}

function sender(store: Store, key: `0x${string}`, client: PublicClient = publicClient) {
  return createTransactionSender({
    common,
    store,
    publicClient: client,
    account: privateKeyToAccount(key),
    chainId: anvil.chainId,
    pollingIntervalMs: 50,
    receiptTimeoutMs: 5000,
    retry: { retries: 0 },
  });
}

/** A client whose broadcasts fail as if the RPC went away after signing. */
function withBroadcastFailing(client: PublicClient): PublicClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === "sendRawTransaction") return async () => Promise.reject(new HttpRequestError({ url: anvil.rpcUrl, status: 502 }));
      return Reflect.get(target, property, receiver);
    },
  });
}

beforeAll(async () => {
  anvil = await startAnvil();
  publicClient = createPublicClient({ transport: http(anvil.rpcUrl), pollingInterval: 50 });
});

afterAll(async () => {
  await anvil?.stop();
});

describe("transaction sender", () => {
  it("records a transaction before broadcasting it and re-broadcasts the same bytes after a failure", async () => {
    const key = anvilPrivateKeys[5];
    const { address } = privateKeyToAccount(key);
    const store = newStore(address);
    const broken = sender(store, key, withBroadcastFailing(publicClient));
    await expect(broken.exclusive(() => broken.send(call, { kind: "checkpoint", entries }))).rejects.toThrow();
    const [pending] = store.pendingSubmissions();
    expect(pending).toMatchObject({ status: "signed", nonce: 0, entries: [{ jobId: 1n, cumulativeTokens: 100 }] });

    const restarted = sender(store, key);
    const [resolved] = await restarted.exclusive(() => restarted.reconcile());
    expect(resolved).toMatchObject({ submission: { id: pending!.id, status: "confirmed", txHash: pending!.txHash }, receipt: { status: "success" } });
    expect((await publicClient.getTransaction({ hash: pending!.txHash })).nonce).toBe(0);
    expect(await publicClient.getTransactionCount({ address })).toBe(1);
    expect(store.session(1n)).toBeUndefined();
  });

  it("marks a recorded transaction dropped when its nonce was used by another", async () => {
    const key = anvilPrivateKeys[6];
    const account = privateKeyToAccount(key);
    const store = newStore(account.address);
    const broken = sender(store, key, withBroadcastFailing(publicClient));
    await expect(broken.exclusive(() => broken.send(call, { kind: "checkpoint", entries }))).rejects.toThrow();
    const wallet = createWalletClient({ account, transport: http(anvil.rpcUrl) });
    await publicClient.waitForTransactionReceipt({ hash: await wallet.sendTransaction({ to: account.address, value: 1n, chain: null }) });

    const restarted = sender(store, key);
    const [resolved] = await restarted.exclusive(() => restarted.reconcile());
    expect(resolved).toMatchObject({ submission: { status: "dropped", error: "nonce used by another transaction" }, receipt: undefined });
    const { submission, receipt } = await restarted.exclusive(() => restarted.send(call, { kind: "checkpoint", entries }));
    expect(receipt?.status).toBe("success");
    expect(submission.nonce).toBe(1);
  });

  it("finds its own transaction mined when the block lands between the receipt lookup and the nonce read, instead of marking it dropped", async () => {
    const key = anvilPrivateKeys[8];
    const { address } = privateKeyToAccount(key);
    const store = newStore(address);
    const broken = sender(store, key, withBroadcastFailing(publicClient));
    await expect(broken.exclusive(() => broken.send(call, { kind: "final", entries }))).rejects.toThrow();
    const [pending] = store.pendingSubmissions();
    // The transaction waits in the pool (as after a broadcast whose answer was lost, or a closer that died)...
    await publicClient.request({ method: "evm_setAutomine" as never, params: [false] as never });
    try {
      await publicClient.sendRawTransaction({ serializedTransaction: pending!.rawTx });
      // ...and is mined right after reconcile found no receipt for it, before it reads the account's nonce.
      const minedMeanwhile = new Proxy(publicClient, {
        get(target, property, receiver) {
          if (property === "getTransactionCount")
            return async (...args: Parameters<PublicClient["getTransactionCount"]>) => {
              await target.request({ method: "evm_mine" as never, params: [] as never });
              return target.getTransactionCount(...args);
            };
          return Reflect.get(target, property, receiver);
        },
      });
      const restarted = sender(store, key, minedMeanwhile);
      const [resolved] = await restarted.exclusive(() => restarted.reconcile());
      expect(resolved).toMatchObject({ submission: { id: pending!.id, status: "confirmed", txHash: pending!.txHash }, receipt: { status: "success" } });
    } finally {
      await publicClient.request({ method: "evm_setAutomine" as never, params: [true] as never });
    }
  });

  it("records and sends nothing once a lock it relies on is lost, the chain writer's or a close's turn (gone with the PostgreSQL lock connection, even if a new one was made)", async () => {
    const key = anvilPrivateKeys[9];
    const { address } = privateKeyToAccount(key);
    const store = newStore(address);
    const lost = Object.assign(() => undefined, { held: () => false });
    const queue = sender(store, key);
    // The close's turn, lost while the close waited for the chain writer.
    await expect(queue.exclusive(() => queue.send(call, { kind: "final", entries }), [lost])).rejects.toMatchObject({ code: "storage_unavailable" });
    // The chain writer's own lock, lost since it was taken.
    const writerLost = sender({ ...store, locks: { ...store.locks, chainWriter: async () => lost } }, key);
    await expect(writerLost.exclusive(() => writerLost.send(call, { kind: "checkpoint", entries }))).rejects.toMatchObject({ code: "storage_unavailable" });
    expect(store.submissionsOfJob(1n)).toEqual([]);
    expect(await publicClient.getTransactionCount({ address })).toBe(0);
    // Held, it sends.
    const held = Object.assign(() => undefined, { held: () => true });
    expect((await queue.exclusive(() => queue.send(call, { kind: "final", entries }), [held])).receipt?.status).toBe("success");
  });

  it("gives up retryably, after a few tries, on a call whose nonce the node refuses as used while its pending nonce lags (no spin holding the chain writer), and sends it once the node caught up", async () => {
    const key = anvilPrivateKeys[4];
    const account = privateKeyToAccount(key);
    const store = newStore(account.address);
    const wallet = createWalletClient({ account, transport: http(anvil.rpcUrl) });
    await publicClient.waitForTransactionReceipt({ hash: await wallet.sendTransaction({ to: account.address, value: 1n, chain: null }) });
    // A node behind its balancer's others answers the pending nonce, 0, that the transaction above used; the fees do not
    // move, so each try signs the same bytes, refused "nonce too low" and taking its dropped record back.
    let lagging = true;
    const broadcasts: `0x${string}`[] = [];
    const client = new Proxy(publicClient, {
      get(target, property, receiver) {
        if (lagging && property === "getTransactionCount") return async () => 0;
        if (property === "estimateFeesPerGas") return async () => ({ maxFeePerGas: 10_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n });
        if (property === "sendRawTransaction")
          return async (parameters: { serializedTransaction: `0x${string}` }) => {
            broadcasts.push(parameters.serializedTransaction);
            return target.sendRawTransaction(parameters);
          };
        return Reflect.get(target, property, receiver);
      },
    });
    const queue = sender(store, key, client);
    await expect(queue.exclusive(() => queue.send(call, { kind: "checkpoint", entries }))).rejects.toMatchObject({ code: "chain_unavailable" });
    expect(broadcasts.length).toBe(3);
    expect(new Set(broadcasts).size).toBe(1);
    expect(store.submissionsOfJob(1n)).toMatchObject([{ status: "dropped", nonce: 0 }]);

    lagging = false;
    const { submission, receipt } = await queue.exclusive(() => queue.send(call, { kind: "checkpoint", entries }));
    expect(receipt?.status).toBe("success");
    expect(submission.nonce).toBe(1);
  }, 30_000);

  it("hands out nonces in order to queued work", async () => {
    const key = anvilPrivateKeys[7];
    const store = newStore(privateKeyToAccount(key).address);
    const queue = sender(store, key);
    const sent = await Promise.all([1, 2, 3].map(() => queue.exclusive(() => queue.send(call, { kind: "batch", entries }))));
    expect(sent.map(({ submission }) => submission.nonce)).toEqual([0, 1, 2]);
    expect(sent.every(({ receipt }) => receipt?.status === "success")).toBe(true);
  });
});
