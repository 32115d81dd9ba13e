import { LimitExceededRpcError, RpcRequestError } from "viem";
import { describe, expect, it } from "vitest";
import { createLogCollector, createLogFollower, reorgWindow } from "./logFollower.ts";

type Log = { blockNumber: bigint; id: string };

/** A chain of logs by block, and every range asked for; refuses ranges wider than `cap` blocks the way providers do. */
function fakeChain(cap = 1_000_000n) {
  const logs = new Map<bigint, Log[]>();
  const asked: [bigint, bigint][] = [];
  const confirmed: Log[] = [];
  const follower = createLogFollower<Log>({
    fromBlock: 1n,
    getLogs: async (fromBlock, toBlock) => {
      asked.push([fromBlock, toBlock]);
      if (toBlock - fromBlock + 1n > cap) {
        const cause = new RpcRequestError({
          body: { method: "eth_getLogs" },
          error: { code: -32005, message: "query returned more than 10000 results" },
          url: "http://rpc.example",
        });
        throw new LimitExceededRpcError(cause);
      }
      return [...logs.entries()].filter(([block]) => block >= fromBlock && block <= toBlock).flatMap(([, inBlock]) => inBlock);
    },
    onConfirmed: (logs) => confirmed.push(...logs),
  });
  const put = (block: bigint, id: string) => logs.set(block, [...(logs.get(block) ?? []), { blockNumber: block, id }]);
  return { logs, asked, confirmed, follower, put };
}

describe("createLogFollower", () => {
  it("reads each block once it is past the reorg window, and only the new blocks and the window at each round", async () => {
    const chain = fakeChain();
    chain.put(5n, "a");
    chain.put(100n, "b");
    expect(await chain.follower.follow(100n)).toEqual([{ blockNumber: 100n, id: "b" }]);
    expect(chain.confirmed.map((log) => log.id)).toEqual(["a"]);
    chain.asked.length = 0;
    for (let head = 101n; head <= 130n; head++) await chain.follower.follow(head);
    // Every round: from the first block still in the window to the head.
    for (const [fromBlock, toBlock] of chain.asked) expect(toBlock - fromBlock + 1n).toBe(reorgWindow + 1n);
    expect(chain.confirmed.map((log) => log.id)).toEqual(["a", "b"]);
    // The same head again reads nothing.
    chain.asked.length = 0;
    await chain.follower.follow(130n);
    expect(chain.asked).toEqual([]);
  });

  it("replaces the logs of a reorg within the window: removed ones go, added ones come, none is confirmed twice", async () => {
    const chain = fakeChain();
    chain.put(50n, "kept");
    chain.put(58n, "orphaned");
    expect((await chain.follower.follow(60n)).map((log) => log.id)).toEqual(["kept", "orphaned"]);
    chain.logs.delete(58n);
    chain.put(59n, "replacement");
    expect((await chain.follower.follow(61n)).map((log) => log.id)).toEqual(["kept", "replacement"]);
    await chain.follower.follow(200n);
    expect(chain.confirmed.map((log) => log.id)).toEqual(["kept", "replacement"]);
  });

  it("reads a long history in ranges the RPC serves, and keeps nothing of a round that failed", async () => {
    const chain = fakeChain(4_000n);
    for (let block = 1n; block <= 30_000n; block += 1_000n) chain.put(block, `log ${block}`);
    await chain.follower.follow(30_000n);
    expect(chain.confirmed).toHaveLength(30);
    // The ranges served follow each other from the first block to the head.
    const served = chain.asked.filter(([fromBlock, toBlock]) => toBlock - fromBlock + 1n <= 4_000n);
    expect(served[0]![0]).toBe(1n);
    expect(served.at(-1)![1]).toBe(30_000n);
    for (let index = 1; index < served.length; index++) expect(served[index]![0]).toBe(served[index - 1]![1] + 1n);

    const failing = createLogFollower<Log>({
      fromBlock: 1n,
      getLogs: async () => {
        throw new Error("network down");
      },
      onConfirmed: () => expect.unreachable(),
    });
    await expect(failing.follow(100n)).rejects.toThrow("network down");
  });

  it("runs one round at a time, in the order asked", async () => {
    const chain = fakeChain();
    chain.put(3n, "x");
    const rounds = await Promise.all([chain.follower.follow(40n), chain.follower.follow(41n), chain.follower.follow(39n)]);
    expect(rounds.map((logs) => logs.length)).toEqual([0, 0, 0]);
    expect(chain.confirmed.map((log) => log.id)).toEqual(["x"]);
    expect(chain.asked.map(([fromBlock, toBlock]) => [Number(fromBlock), Number(toBlock)])).toEqual([
      [1, 40],
      [29, 41],
    ]);
  });

  it("a collector gives every log at every head, a log crossing out of the window included (the meter lost a proof for a block there)", async () => {
    const logs = new Map<bigint, Log[]>([[10n, [{ blockNumber: 10n, id: "proof" }]]]);
    const collect = createLogCollector<Log>({
      fromBlock: 1n,
      getLogs: async (fromBlock, toBlock) => [...logs.entries()].filter(([block]) => block >= fromBlock && block <= toBlock).flatMap(([, inBlock]) => inBlock),
    });
    for (let head = 10n; head <= 10n + 3n * reorgWindow; head++)
      expect(
        (await collect(head)).map((log) => log.id),
        `head ${head}`,
      ).toEqual(["proof"]);
  });
});
