import { getSession, marketplaceAbi } from "@session-jobs/sdk";
import { checkpointTypes, encodeCheckpointProof, sessionJobsDomain } from "@session-jobs/sdk/protocol";
import type { WebDemo } from "@session-jobs/cli/web-demo";
import type { Page } from "playwright-core";
import { createWalletClient, http, keccak256, parseEventLogs, toHex, type Address, type Hash } from "viem";
import { expect } from "vitest";

// What the pages' load tests (dashboardLoad, mySessionsLoad) share: sessions opened, proven and
// closed straight on the demo's anvil (anvil signs for its accounts: no key, no chat needed), and
// the page's JSON-RPC calls recorded and counted per block.

/** One JSON-RPC call the page sent (a batch counts each call). */
export type RpcCall = { method: string; params: unknown[] };

/** On-chain steps of a session between `user` (depositor, receipt signer) and the demo's host; both are read at each step (set up in `beforeAll`). */
export function createSessionSteps(demo: () => WebDemo, user: () => Address) {
  const wallet = (account: Address) => createWalletClient({ account, transport: http(demo().network.anvil.rpcUrl) });
  const marketplace = () => demo().network.deployment.jobMarketplace;
  const landed = async (hash: Hash) => {
    const receipt = await demo().network.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
    return receipt;
  };
  return {
    async openSession(): Promise<bigint> {
      const hash = await wallet(user()).writeContract({
        chain: null,
        address: marketplace(),
        abi: marketplaceAbi,
        functionName: "createSessionJob",
        args: [demo().host.node.address, 10_000_000_000n, 3_600n, 100n],
        value: 10n ** 16n,
      });
      return parseEventLogs({ abi: marketplaceAbi, logs: (await landed(hash)).logs, eventName: "SessionJobCreated" })[0]!.args.jobId;
    },
    /** The host proves `tokens` more of the session, on a receipt the user signed: one block, returned with the tokens proven in all. */
    async prove(jobId: bigint, tokens: bigint): Promise<{ cumulativeTokens: bigint; blockNumber: bigint }> {
      const cumulativeTokens = (await getSession(demo().network.publicClient, { marketplace: marketplace(), jobId })).provenTokens + tokens;
      const transcriptHash = keccak256(toHex(`transcript ${jobId} ${cumulativeTokens}`));
      const signature = await wallet(user()).signTypedData({
        domain: sessionJobsDomain({ chainId: demo().network.anvil.chainId, marketplace: marketplace() }),
        types: checkpointTypes,
        primaryType: "Checkpoint",
        message: { jobId, cumulativeTokens, transcriptHash },
      });
      const receipt = await landed(
        await wallet(demo().host.node.address).writeContract({
          chain: null,
          address: marketplace(),
          abi: marketplaceAbi,
          functionName: "submitProofOfWork",
          args: [jobId, encodeCheckpointProof({ transcriptHash, signature }), tokens],
        }),
      );
      return { cumulativeTokens, blockNumber: receipt.blockNumber };
    },
    async closeSession(jobId: bigint): Promise<void> {
      await landed(
        await wallet(user()).writeContract({ chain: null, address: marketplace(), abi: marketplaceAbi, functionName: "completeSessionJob", args: [jobId] }),
      );
    },
  };
}

/**
 * Records each JSON-RPC call `page` sends to `rpcUrl`, and where each HTTP request that carried a
 * call not in `timed` (methods polled on a timer, not per block) began in that list.
 */
export function recordRpcCalls(page: Page, rpcUrl: string, timed: ReadonlySet<string>) {
  const calls: RpcCall[] = [];
  const posts: number[] = [];
  page.on("request", (request) => {
    if (request.url() !== rpcUrl && request.url() !== `${rpcUrl}/`) return;
    const body = request.postDataJSON() as RpcCall | RpcCall[] | null;
    if (!body) return;
    const batch = Array.isArray(body) ? body : [body];
    if (batch.some((call) => !timed.has(call.method))) posts.push(calls.length);
    calls.push(...batch);
  });
  return {
    calls,
    /** The calls from index `from` on: how many of `method`, per block over `blocks`. */
    perBlock(from: number, blocks: number, method: string): number {
      return calls.slice(from).filter((call) => call.method === method).length / blocks;
    },
    /** HTTP requests from call index `from` on, per block over `blocks`. */
    requestsPerBlock(from: number, blocks: number): number {
      return posts.filter((at) => at >= from).length / blocks;
    },
    /** The most blocks one `eth_getLogs` from call index `from` on asked about (an open `toBlock` counts to `head`). */
    widestLogRange(from: number, head: bigint): number {
      const spans = calls
        .slice(from)
        .filter((call) => call.method === "eth_getLogs")
        .map((call) => {
          const filter = call.params[0] as { fromBlock: string; toBlock?: string };
          const toBlock = filter.toBlock === undefined || filter.toBlock === "latest" ? head : BigInt(filter.toBlock);
          return Number(toBlock - BigInt(filter.fromBlock) + 1n);
        });
      return Math.max(0, ...spans);
    },
  };
}
