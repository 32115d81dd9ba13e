import {
  encodeFunctionData,
  keccak256,
  WaitForTransactionReceiptTimeoutError,
  type Abi,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type TransactionReceipt,
} from "viem";
import type { Common } from "../common.ts";
import { HostError, storageUnavailable } from "../errors.ts";
import type { Release, Store, Submission, SubmissionEntry, SubmissionKind } from "../store/storeTypes.ts";
import { asCallReverted } from "./callReverted.ts";
import { broadcastRawTransaction, findTransactionReceipt } from "./rawTransactions.ts";
import { isRetryableError, sleep, withRetry, type RetryParameters } from "./retry.ts";

/**
 * How many times one send signs its call after the node refused the nonce as used, before it gives up
 * for now: a node whose pending nonce lags behind a used one answers the same nonce again, and the same
 * fees sign the same bytes, so the send would spin holding the chain writer.
 */
const nonceRefusalsPerSend = 3;

/** A contract call to send: simulated first, so that a revert costs no gas and reads as a named error. */
export type ContractCall = { address: Address; abi: Abi; functionName: string; args: readonly unknown[] };

export type SentTransaction = {
  submission: Submission;
  /** Present once mined within the wait; absent when it is still pending (reconciled later). */
  receipt: TransactionReceipt | undefined;
};

export type TransactionSender = ReturnType<typeof createTransactionSender>;

/**
 * The node's only writer to chain. Work runs one item at a time, so nonces are handed out in
 * order without gaps. Each transaction is signed locally and recorded in the store (hash and raw
 * bytes) before it is broadcast; after a crash the same bytes are re-broadcast or found mined,
 * never replaced by a second transaction for the same proof.
 */
export function createTransactionSender(parameters: {
  common: Common;
  store: Store;
  publicClient: PublicClient;
  account: LocalAccount;
  chainId: number;
  pollingIntervalMs: number;
  receiptTimeoutMs: number;
  /** Back-off for transient RPC failures; default five retries from 250 ms. */
  retry?: Pick<RetryParameters, "retries" | "baseDelayMs" | "maxDelayMs">;
}) {
  const { common, store, publicClient, account, chainId } = parameters;
  let queue: Promise<unknown> = Promise.resolve();
  let nextNonce: number | undefined;
  const retry = <T>(task: () => Promise<T>) =>
    withRetry(task, {
      ...parameters.retry,
      signal: common.shutdown.signal,
      onRetry: (error, attempt) => {
        common.metrics.rpcRetries.inc();
        common.logger.warn("RPC call failed, retrying", { attempt, error });
      },
    });

  /** The locks the work under way relies on (the chain writer's first): a transaction is recorded and sent only while all are held. */
  let guards: readonly Release[] = [];

  /**
   * Runs `work` after everything queued before it, holding the store's chain-writer lock: with
   * processes sharing the store, another may have used nonces meanwhile, so the next is read anew.
   * `alsoHeld`: other locks the caller holds that its transaction relies on (a close's session turn).
   */
  function exclusive<T>(work: () => Promise<T>, alsoHeld: readonly Release[] = []): Promise<T> {
    const result = queue.then(async () => {
      const release = await store.locks.chainWriter();
      if (store.locks.shared) nextNonce = undefined;
      guards = [release, ...alsoHeld];
      try {
        return await work();
      } finally {
        guards = [];
        release();
      }
    });
    queue = result.catch(() => undefined);
    return result;
  }

  async function simulate(call: ContractCall): Promise<bigint> {
    try {
      await retry(() => publicClient.simulateContract({ ...call, account }));
      return await retry(() => publicClient.estimateContractGas({ ...call, account }));
    } catch (error) {
      if (isRetryableError(error)) throw error;
      throw asCallReverted(call.functionName, error);
    }
  }

  /** Marks a submission confirmed or reverted from its mined receipt. */
  function recordReceipt(submission: Submission, receipt: TransactionReceipt): Promise<Submission> {
    const status = receipt.status === "success" ? "confirmed" : "reverted";
    common.metrics.proofTransactions.inc({ kind: submission.kind, outcome: status });
    return Promise.resolve(store.setSubmissionStatus(submission.id, status, status === "reverted" ? "reverted on chain" : undefined));
  }

  const broadcast = (rawTx: Hex) => broadcastRawTransaction(publicClient, retry, rawTx);
  const findReceipt = (hash: Hex) => findTransactionReceipt(publicClient, retry, hash);

  async function waitForReceipt(submission: Submission): Promise<TransactionReceipt | undefined> {
    try {
      // Not wrapped in retry(): viem polls and retries the receipt lookup itself, and a timeout
      // must end the wait after receiptTimeoutMs — the queue behind this sender is waiting.
      const receipt = await publicClient.waitForTransactionReceipt({
        hash: submission.txHash,
        pollingInterval: parameters.pollingIntervalMs,
        timeout: parameters.receiptTimeoutMs,
      });
      if (receipt.transactionHash.toLowerCase() !== submission.txHash.toLowerCase()) {
        // viem follows a replacement and answers with the replacing transaction's receipt: ours
        // never ran, so its receipts are still unproven.
        await store.setSubmissionStatus(submission.id, "dropped", `replaced by ${receipt.transactionHash}`);
        common.logger.warn("transaction replaced by another with the same nonce", { hash: submission.txHash, replacedBy: receipt.transactionHash });
        nextNonce = undefined;
        return undefined;
      }
      await recordReceipt(submission, receipt);
      return receipt;
    } catch (error) {
      if (error instanceof WaitForTransactionReceiptTimeoutError || isRetryableError(error)) {
        common.logger.warn("transaction not mined yet; will reconcile", { hash: submission.txHash });
        return undefined;
      }
      throw error;
    }
  }

  async function takeNonce(): Promise<number> {
    nextNonce ??= await retry(() => publicClient.getTransactionCount({ address: account.address, blockTag: "pending" }));
    return nextNonce;
  }

  return {
    exclusive,
    /** Throws `CallRevertedError` if `call` would revert now; returns its gas otherwise. */
    simulate,

    /**
     * Simulates, signs, records, broadcasts and waits for one contract call. Throws
     * `CallRevertedError` if the call would revert (nothing recorded, no gas spent), and
     * `chain_unavailable` once the node refused {@link nonceRefusalsPerSend} nonces as used.
     * Call inside {@link exclusive}.
     */
    async send(call: ContractCall, intent: { kind: SubmissionKind; entries: SubmissionEntry[] }): Promise<SentTransaction> {
      for (let nonceRefusals = 0; ;) {
        const gas = await simulate(call);
        const fees = await retry(() => publicClient.estimateFeesPerGas());
        const nonce = await takeNonce();
        const rawTx = await account.signTransaction({
          chainId,
          type: "eip1559",
          to: call.address,
          data: encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args }),
          gas: (gas * 12n) / 10n,
          maxFeePerGas: fees.maxFeePerGas,
          maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
          nonce,
        });
        // A process that lost its chain-writer lock (its lock connection) since taking it sends nothing more, even
        // once reconnected: another may have taken the lock, and the nonce, meanwhile.
        store.assertWritable();
        if (!guards.every((lock) => lock.held())) throw storageUnavailable("a lock this transaction relies on was lost with the PostgreSQL lock connection");
        const id = await store.recordSubmission({ kind: intent.kind, nonce, txHash: keccak256(rawTx), rawTx, entries: intent.entries });
        const outcome = await broadcast(rawTx).catch(async (error: unknown) => {
          nextNonce = undefined;
          // Unreachable RPC: the bytes may have reached a node, so the record stays pending for
          // reconcile() to find mined or re-broadcast. A refusal means they went nowhere.
          if (!isRetryableError(error)) await store.setSubmissionStatus(id, "dropped", error instanceof Error ? error.message.slice(0, 500) : String(error));
          throw error;
        });
        if (outcome === "dropped") {
          // "Nonce too low" also answers the retry of a broadcast whose first answer was lost
          // after the transaction went through: then it is ours that used the nonce.
          const mined = await findReceipt(keccak256(rawTx));
          if (mined) {
            nextNonce = nonce + 1;
            const submission = await recordReceipt(await store.setSubmissionStatus(id, "sent"), mined);
            common.logger.info("transaction found mined after a lost broadcast answer", { kind: intent.kind, hash: submission.txHash, nonce });
            return { submission, receipt: mined };
          }
          // Someone else used this nonce (another process with this key), or the node's pending nonce lags behind
          // a used one: resync and try again, after a pause (the lock is held), a few times at most.
          await store.setSubmissionStatus(id, "dropped", "nonce already used");
          nextNonce = undefined;
          if (++nonceRefusals >= nonceRefusalsPerSend)
            throw new HostError(
              "chain_unavailable",
              `the node refused this call's nonce as used ${nonceRefusals} times, the last ${nonce} (its pending nonce behind?); retry later`,
            );
          await sleep(parameters.pollingIntervalMs * nonceRefusals, common.shutdown.signal);
          continue;
        }
        nextNonce = nonce + 1;
        const submission = await store.setSubmissionStatus(id, "sent");
        common.logger.info("transaction sent", { kind: intent.kind, hash: submission.txHash, nonce, jobs: intent.entries.map((entry) => entry.jobId) });
        const receipt = await waitForReceipt(submission);
        // Replaced while we waited: simulate again (the call may no longer be due) and resend.
        if ((await store.submission(id))!.status === "dropped") continue;
        return { submission, receipt };
      }
    },

    /**
     * Settles what a crash or a slow chain left open: each pending transaction is found mined,
     * re-broadcast as the same bytes, or (when its nonce was used by another) marked dropped.
     * Resolves with those whose fate it learned: the mined with their receipts, the dropped without.
     * Call inside {@link exclusive}.
     */
    async reconcile(): Promise<SentTransaction[]> {
      const resolved: SentTransaction[] = [];
      const mined = async (submission: Submission, receipt: TransactionReceipt) =>
        resolved.push({ submission: await recordReceipt(submission, receipt), receipt });
      for (const submission of await store.pendingSubmissions()) {
        const receipt = await findReceipt(submission.txHash);
        if (receipt) {
          await mined(submission, receipt);
          continue;
        }
        const minedNonce = await retry(() => publicClient.getTransactionCount({ address: account.address, blockTag: "latest" }));
        if (submission.nonce < minedNonce || (await broadcast(submission.rawTx)) === "dropped") {
          // The nonce is used: by this transaction if its block landed after the lookup above, else by another.
          const minedMeanwhile = await findReceipt(submission.txHash);
          if (minedMeanwhile) await mined(submission, minedMeanwhile);
          else
            resolved.push({ submission: await store.setSubmissionStatus(submission.id, "dropped", "nonce used by another transaction"), receipt: undefined });
          continue;
        }
        const sent = await store.setSubmissionStatus(submission.id, "sent");
        const minedNow = await waitForReceipt(sent);
        if (minedNow) resolved.push({ submission: (await store.submission(sent.id))!, receipt: minedNow });
      }
      nextNonce = undefined;
      return resolved;
    },
  };
}
