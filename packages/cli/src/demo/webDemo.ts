import type { ChatBackend } from "@session-jobs/inference";
import { privateKeyToAccount } from "viem/accounts";
import { testUsdcAbi } from "@session-jobs/contracts/abis";
import type { Common } from "../common.ts";
import { createGasLedger } from "../gasLedger.ts";
import { startDemoHost, type DemoHost } from "./demoHost.ts";
import { demoKeys, startLocalNetwork, walletFor, type LocalNetwork } from "./localNetwork.ts";
import { serveApp } from "./serveApp.ts";
import { webAppFiles } from "./webAppFiles.ts";

export type WebDemo = { url: string; network: LocalNetwork; host: DemoHost; stop: () => Promise<void> };

/** USDC the dev wallet starts with (6 decimals). */
const devWalletUsdc = 100_000_000n;

/**
 * Everything the web app needs on this machine: a local chain with the contracts, a host with the
 * embedded model that lets the app's origin call it (CORS) and serves the host dashboard, and the built app with its
 * deployment JSON, offering anvil's user account as the labelled local dev wallet. In the
 * repository it builds the app first unless `build: false` (the caller built it).
 */
export async function startWebDemo(
  common: Common,
  options: { port?: number; build?: boolean; wrapBackend?: (backend: ChatBackend) => ChatBackend } = {},
): Promise<WebDemo> {
  const distDir = await webAppFiles(common, { build: options.build !== false });
  const network = await startLocalNetwork(common, createGasLedger());
  const stops: (() => Promise<void>)[] = [() => network.anvil.stop()];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const user = privateKeyToAccount(demoKeys.user).address;
    const hash = await walletFor(network, demoKeys.owner).writeContract({
      address: network.deployment.usdc!,
      abi: testUsdcAbi,
      functionName: "mint",
      args: [user, devWalletUsdc],
    });
    await network.publicClient.waitForTransactionReceipt({ hash });
    const app = await serveApp({
      distDir,
      deployment: { ...network.deployment, rpcUrl: network.anvil.rpcUrl, chainName: "Local chain (anvil)", devWallet: user },
      ...(options.port !== undefined && { port: options.port }),
    });
    stops.push(app.close);
    const host = await startDemoHost(common, network, createGasLedger(), {
      corsOrigins: [new URL(app.url).origin],
      dashboardDir: distDir,
      ...(options.wrapBackend && { wrapBackend: options.wrapBackend }),
    });
    stops.push(host.stop);
    return { url: app.url, network, host, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
