import { describe, expect, it } from "vitest";
import { chat } from "@session-jobs/sdk";
import { openUserSession } from "./harness.ts";
import { useCountingRpcHostStack } from "./stack.ts";

// A session's first request waits for no chain read: the settlement watcher has seen the session
// created and put its terms in the host's session cache. Only the chain calls the request path
// makes are counted here (eth_call, eth_getCode); the watcher's own (eth_blockNumber, eth_getLogs) run beside it.

const { stack, rpc } = useCountingRpcHostStack();

/** The last block the host's settlement watcher has read (`/metrics`). */
async function watchedBlock(): Promise<number> {
  const metrics = await (await fetch(`${stack.host.url}/metrics`)).text();
  return Number(/^session_jobs_settlement_watch_block (\d+)$/m.exec(metrics)?.[1] ?? -1);
}

const requestPathCalls = () => rpc().count("eth_call") + rpc().count("eth_getCode");
const ask = { messages: [{ role: "user" as const, content: "In the beginning" }], maxTokens: 20 };

describe("a session's first request", () => {
  it("reads nothing from chain once the settlement watcher has seen the session created", async () => {
    const session = await openUserSession(stack.network, 1_000n);
    const created = Number(await stack.network.publicClient.getBlockNumber({ cacheTime: 0 }));
    await expect.poll(watchedBlock, { timeout: 20_000 }).toBeGreaterThanOrEqual(created);

    const before = requestPathCalls();
    await chat(session, ask);
    await chat(session, ask);
    expect(requestPathCalls() - before).toBe(0);
  });

  it("is still served, read from chain, when the watcher cannot read logs", async () => {
    const behind = await watchedBlock();
    rpc().failing.add("eth_getLogs");
    try {
      const session = await openUserSession(stack.network, 1_000n);
      const before = rpc().count("eth_call");
      expect((await chat(session, ask)).text.length).toBeGreaterThan(0);
      expect(rpc().count("eth_call") - before).toBe(1); // the session's one read
      expect(await watchedBlock()).toBe(behind); // (read after counting: a scrape reads the wallet's balances)
    } finally {
      rpc().failing.delete("eth_getLogs");
    }
  });
});
