import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat, getSession } from "@session-jobs/sdk";
import type { LocalNetwork } from "../../src/demo/localNetwork.ts";
import { freePort, hostView, openUserSession, register, spawnHost, startNetwork, waitReady, writeHostConfig } from "./harness.ts";
import { startTcpProxy, type TcpProxy } from "./tcpProxy.ts";

// `host start` as a real process, stopped the way service managers stop it (SIGTERM) or a person
// does (Ctrl-C, SIGINT): both drain the same way. Receipts are signed but below one checkpoint
// interval, so nothing is due: only the drain can prove them before the process exits.

let network: LocalNetwork;
beforeAll(async () => {
  network = await startNetwork();
}, 30_000);
afterAll(() => network?.anvil.stop());

const chainProven = async (jobId: bigint) => (await getSession(network.publicClient, { marketplace: network.deployment.jobMarketplace, jobId })).provenTokens;

/** Starts a host process (optionally with its RPC behind `rpcUrl`), signs receipts below one interval and returns the session. */
async function hostWithUnprovenReceipts(cleanups: (() => unknown)[], rpcUrl?: string) {
  const port = await freePort();
  const config = writeHostConfig(network, port, { ...(rpcUrl && { rpcUrl }), batch: { delayMs: 600_000, idleFlushSeconds: 3_600, drainTimeoutMs: 20_000 } });
  cleanups.push(config.cleanup);
  await register(config.input);
  const url = `http://127.0.0.1:${port}`;
  const host = spawnHost(config.path);
  cleanups.push(() => host.kill9());
  await waitReady(url, 45_000, host.child);
  const session = await openUserSession(network, 1_000n);
  await chat(session, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 24 });
  await chat(session, { messages: [{ role: "user", content: "And God said" }], maxTokens: 24 });
  const view = await hostView(url, session.jobId);
  expect(BigInt(view.signedTokens)).toBe(session.cumulativeTokens);
  expect(await chainProven(session.jobId)).toBe(0n);
  return { host, session, config, url };
}

describe("stopping the host process", () => {
  const cleanups: (() => unknown)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s drains: the process exits 0 after proving every signed receipt on chain",
    async (signal) => {
      const { host, session } = await hostWithUnprovenReceipts(cleanups);
      expect(await host.signal(signal), host.output()).toBe(0);
      expect(await chainProven(session.jobId)).toBe(session.cumulativeTokens);
      expect(host.output()).toContain("every signed receipt is proven on chain");
      expect(host.output()).toContain("host stopped");
    },
    58_000,
  );

  it("with the chain unreachable it says exactly what is left, and the restarted host proves it on its own", async () => {
    const proxy: TcpProxy = await startTcpProxy(new URL(network.anvil.rpcUrl));
    cleanups.push(() => proxy.close());
    const { host, session, config, url } = await hostWithUnprovenReceipts(cleanups, proxy.url);
    proxy.setDown(true);
    expect(await host.signal("SIGTERM"), host.output()).toBe(0);
    expect(await chainProven(session.jobId)).toBe(0n);
    expect(host.output()).toContain(`${session.cumulativeTokens} signed tokens of 1 session(s) are not proven yet`);
    expect(host.output()).toContain("the next `host start` with this database proves them");

    proxy.setDown(false);
    const restarted = spawnHost(config.path);
    cleanups.push(() => restarted.kill9());
    await waitReady(url, 45_000, restarted.child);
    // The client stays silent: the restarted host proves the recovered receipts by itself.
    await expect.poll(() => chainProven(session.jobId), { timeout: 20_000, interval: 200 }).toBe(session.cumulativeTokens);
    expect(await restarted.signal("SIGTERM"), restarted.output()).toBe(0);
  }, 58_000);
});
