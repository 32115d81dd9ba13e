// The Vitest-bound half of the reliability harness (lifecycle hooks and assertions), kept apart
// so that harness.ts also serves scripts run outside Vitest (load.bench.ts).
import { createServer, type RequestListener } from "node:http";
import { createOpenAICompatibleBackend } from "@session-jobs/inference";
import { closeSession, getSession, type Session } from "@session-jobs/sdk";
import { afterAll, beforeAll, expect } from "vitest";
import { demoKeys, walletFor, type LocalNetwork } from "../../src/demo/localNetwork.ts";
import { proofEvents, startCountingRpcProxy, startInProcessHost, startNetwork, type InProcessHost, type InProcessHostOptions } from "./harness.ts";

/** The network and in-process host of one test file; set by the `beforeAll` that `useHostStack` registers. */
export type HostStack = { network: LocalNetwork; host: InProcessHost };

/**
 * Registers the `beforeAll`/`afterAll` pair that starts anvil and an in-process host for a test
 * file and stops them after it. `setup` may start more (a proxy, a backend) and returns the host
 * options; `teardown.beforeStop`/`afterStop` run before the host stops / after it, before anvil.
 * By default the host proves a due checkpoint at once (`batch.delayMs: 0`).
 */
export function useHostStack(
  setup: (network: LocalNetwork) => InProcessHostOptions | Promise<InProcessHostOptions> = () => ({ extra: { batch: { delayMs: 0 } } }),
  teardown: { beforeStop?: () => unknown; afterStop?: () => unknown } = {},
): HostStack {
  const stack = {} as HostStack;
  beforeAll(async () => {
    stack.network = await startNetwork();
    stack.host = await startInProcessHost(stack.network, await setup(stack.network));
  }, 45_000);
  afterAll(async () => {
    if (stack.network) await teardown.beforeStop?.();
    await stack.host?.stop();
    if (stack.network) await teardown.afterStop?.();
    await stack.network?.anvil.stop();
  });
  return stack;
}

/**
 * {@link useHostStack} with the host's backend an OpenAI-compatible upstream written by the test:
 * `handle` answers its requests on a loopback port; the upstream is closed after the host stops.
 */
export function useUpstreamHostStack(handle: RequestListener, model: string): HostStack {
  const upstream = createServer(handle);
  return useHostStack(
    async () => {
      await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
      const baseUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/v1`;
      return { backend: createOpenAICompatibleBackend({ baseUrl, model }), extra: { batch: { delayMs: 0 } } };
    },
    {
      afterStop: () =>
        new Promise<void>((resolve) => {
          upstream.close(() => resolve());
          upstream.closeAllConnections();
        }),
    },
  );
}

/**
 * {@link useHostStack} with the host's RPC behind a counting proxy (`rpc()`, once the stack is up),
 * sessions cached for the test's length (every chain call counted is one the test's requests
 * caused, however slowly a loaded machine runs it), and due proofs sent at once.
 */
export function useCountingRpcHostStack(): { stack: HostStack; rpc: () => Awaited<ReturnType<typeof startCountingRpcProxy>> } {
  let proxy: Awaited<ReturnType<typeof startCountingRpcProxy>> | undefined;
  const stack = useHostStack(
    async (network) => {
      proxy = await startCountingRpcProxy(network.anvil.rpcUrl);
      return { extra: { rpcUrl: proxy.url, batch: { delayMs: 0 }, limits: { sessionCacheMs: 600_000 } } };
    },
    { afterStop: () => proxy?.close() },
  );
  return { stack, rpc: () => proxy! };
}

/** Closes through the host; every signed token proven exactly once and paid to the wei. Returns the signed total. */
export async function closeExactly(network: LocalNetwork, session: Session): Promise<bigint> {
  const signedTotal = session.cumulativeTokens;
  const marketplace = network.deployment.jobMarketplace;
  const settlement = await closeSession(walletFor(network, demoKeys.user), { session });
  expect(settlement.closedBy).toBe("host");
  expect(settlement.provenTokens).toBe(signedTotal);
  expect(settlement.payment).toBe(signedTotal * session.pricePerToken);
  expect(settlement.refund).toBe(session.deposit - settlement.payment);
  expect((await getSession(network.publicClient, { marketplace, jobId: session.jobId })).provenTokens).toBe(signedTotal);
  const proofs = await proofEvents(network.publicClient, marketplace, session.jobId);
  expect(proofs.reduce((sum, log) => sum + log.args.tokens, 0n)).toBe(signedTotal);
  expect(new Set(proofs.map((log) => log.args.proofHash)).size).toBe(proofs.length);
  return signedTotal;
}
