/**
 * TEST HELPER: a JSON-RPC relay on an ephemeral loopback port in front of one RPC (anvil), that
 * refuses the raw transactions a test names, as a provider may: while `refuse(which)` holds, each
 * `eth_sendRawTransaction` whose transaction `which` matches is answered with a JSON-RPC error and
 * never reaches the chain. While `precede(first)` holds, each raw transaction waits for
 * `first(transaction)` (another sender taking its nonce first, say) before it is forwarded.
 * `answered(method)` resolves once the relay has answered a call to `method` (a client has what it asked for).
 * Everything else is forwarded as it is (the host sends no batches).
 */
import { createServer } from "node:http";
import { encodeFunctionData, parseTransaction, type Hex, type TransactionSerializable } from "viem";
import { jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";

export type RpcGate = {
  url: string;
  /** Refuses the transactions `which` matches from now on; `undefined` lets every one through again. */
  refuse(which: ((transaction: TransactionSerializable) => boolean) | undefined): void;
  /** Runs `first` before forwarding each raw transaction from now on; `undefined` forwards them at once again. */
  precede(first: ((transaction: TransactionSerializable) => Promise<void>) | undefined): void;
  /** How many transactions were refused so far. */
  refused(): number;
  /** Resolves once the relay has answered the next call to `method`. */
  answered(method: string): Promise<void>;
  close(): Promise<void>;
};

export async function startRpcGate(target: string): Promise<RpcGate> {
  let which: ((transaction: TransactionSerializable) => boolean) | undefined;
  let first: ((transaction: TransactionSerializable) => Promise<void>) | undefined;
  let refused = 0;
  const waiting: { method: string; resolve: () => void }[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const call = JSON.parse(body) as { id?: unknown; method?: string; params?: unknown[] };
      if (call.method === "eth_sendRawTransaction" && which?.(parseTransaction(call.params![0] as Hex))) {
        refused++;
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, error: { code: -32003, message: "transaction refused by the test's gate" } }));
        return;
      }
      const preceded = call.method === "eth_sendRawTransaction" && first ? first(parseTransaction(call.params![0] as Hex)) : Promise.resolve();
      preceded
        .then(() => fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body }))
        .then(async (answer) => {
          response.writeHead(answer.status, { "content-type": "application/json" });
          response.end(await answer.text());
          for (const waiter of waiting.filter((entry) => entry.method === call.method)) {
            waiting.splice(waiting.indexOf(waiter), 1);
            waiter.resolve();
          }
        })
        .catch(() => response.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    refuse: (given) => void (which = given),
    precede: (given) => void (first = given),
    refused: () => refused,
    answered: (method) => new Promise((resolve) => waiting.push({ method, resolve })),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Whether a transaction settles session `jobId` without proving anything (`completeSessionJob`): for {@link RpcGate.refuse}. */
export const completesSession = (jobId: bigint) => (transaction: TransactionSerializable) =>
  transaction.data === encodeFunctionData({ abi: jobMarketplaceWithModelsAbi, functionName: "completeSessionJob", args: [jobId] });
