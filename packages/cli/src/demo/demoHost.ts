import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCommon, createHostNode, registerHost, resolveHostConfig, type HostConfigInput, type HostNode } from "@session-jobs/host";
import { createEmbeddedBackend, type ChatBackend } from "@session-jobs/inference";
import type { Common } from "../common.ts";
import type { GasLedger } from "../gasLedger.ts";
import { demoKeys, localPollingIntervalMs, type LocalNetwork } from "./localNetwork.ts";

/** The demo host's minimum prices: USDC base units per token, and wei per token for ETH. */
export const demoHostPricing = { minPricePerToken: 1500n, minPricePerTokenNative: 10_000_000_000n } as const;

/**
 * The demo host's config (file form) on `network`: its contracts, the embedded model at the demo
 * prices, and the local chain's polling interval. `overrides` is spread last (key, database, server...).
 */
export function demoHostConfigInput(network: LocalNetwork, overrides: HostConfigInput = {}): HostConfigInput {
  return {
    rpcUrl: network.anvil.rpcUrl,
    chainId: network.anvil.chainId,
    contracts: {
      jobMarketplace: network.deployment.jobMarketplace,
      nodeRegistry: network.deployment.nodeRegistry,
      modelRegistry: network.deployment.modelRegistry,
      hostEarnings: network.deployment.hostEarnings,
    },
    backend: { type: "embedded" },
    models: [network.modelId],
    pricing: {
      minPricePerToken: demoHostPricing.minPricePerToken.toString(),
      minPricePerTokenNative: demoHostPricing.minPricePerTokenNative.toString(),
    },
    metadata: { hardware: { cpu: "embedded" }, capabilities: ["inference", "streaming"], location: "localhost" },
    chain: { pollingIntervalMs: localPollingIntervalMs },
    ...overrides,
  };
}

export type DemoHost = { node: HostNode; backend: ChatBackend; stop: () => Promise<void> };

/** Loads the embedded model, starts a host node in front of it (serving the dashboard from `dashboardDir`) and registers the host on chain. */
export async function startDemoHost(
  common: Common,
  network: LocalNetwork,
  ledger: GasLedger,
  options: { corsOrigins?: string[]; wrapBackend?: (backend: ChatBackend) => ChatBackend; dashboardDir?: string } = {},
): Promise<DemoHost> {
  const model = await common.logger.progress("loading the embedded model", () => createEmbeddedBackend());
  const backend = options.wrapBackend?.(model) ?? model;
  const dataDir = mkdtempSync(join(tmpdir(), "session-jobs-demo-host-"));
  const config = resolveHostConfig(
    demoHostConfigInput(network, {
      privateKey: demoKeys.host,
      dbPath: join(dataDir, "host.sqlite"),
      server: { host: "127.0.0.1", port: 0, ...(options.corsOrigins && { corsOrigins: options.corsOrigins }) },
      // One session: nothing to batch with, so a due proof goes out at once.
      batch: { delayMs: 0 },
      // The demo's --proof-interval takes the chain's whole range; its own host serves all of it.
      limits: { maxCheckpointInterval: 1_000_000 },
      ...(options.dashboardDir !== undefined && { dashboard: { dir: options.dashboardDir } }),
    }),
  );
  const node = createHostNode({ common: createCommon({ logLevel: common.debug ? "debug" : "warn" }), config, backend });
  const stop = async () => {
    await node.stop();
    await backend.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const url = await common.logger.progress("starting the host node", () => node.start());
    await common.logger.progress(`registering the host at ${url}`, async () => {
      const { transactions } = await registerHost({ config: { ...config, publicUrl: url } });
      for (const { step, hash } of transactions) ledger.record({ label: `NodeRegistry.${step}`, hash, payer: "host" });
    });
    return { node, backend, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
