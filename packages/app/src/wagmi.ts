import { QueryClient } from "@tanstack/react-query";
import { defineChain, http } from "viem";
import { createConfig, injected } from "wagmi";
import { isLocalDevChain, type Deployment } from "./deployment.ts";
import { devWallet } from "./wallet/devWallet.ts";

/** The one wagmi config, built from the deployment JSON: its chain, its RPC, and the wallets offered. */
export function createWagmiConfig(deployment: Deployment) {
  const local = isLocalDevChain(deployment);
  const chain = defineChain({
    id: deployment.chainId,
    name: deployment.chainName,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [deployment.rpcUrl] } },
  });
  const connectors = [injected({ shimDisconnect: true })];
  if (local && deployment.devWallet)
    connectors.push(devWallet({ address: deployment.devWallet, rpcUrl: deployment.rpcUrl, chainId: deployment.chainId }) as never);
  return createConfig({
    chains: [chain],
    connectors,
    // EIP-6963: every injected wallet announces itself (MetaMask, Rabby, Coinbase Wallet, ...).
    multiInjectedProviderDiscovery: true,
    // One HTTP request a call, no JSON-RPC batches: some providers refuse batches or cap their size,
    // and viem batches even a lone call, so batching would break every read there. The dashboard's
    // reads are bounded per block by its page instead (test/dashboardLoad.test.ts).
    transports: { [chain.id]: http(deployment.rpcUrl) },
    // A local chain mines at once: poll fast, or every receipt wait costs seconds.
    pollingInterval: local ? 100 : 2_000,
  });
}

export const queryClient = new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } });
