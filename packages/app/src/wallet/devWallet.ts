import { createConnector } from "wagmi";
import { getAddress, numberToHex, type Address, type EIP1193RequestFn } from "viem";

const rememberKey = "session-jobs:dev-wallet-connected";

/**
 * A wallet for local development chains only: one of anvil's unlocked accounts. Reads go to the
 * RPC; so do `eth_sendTransaction` and `eth_signTypedData_v4`, which anvil signs with its own
 * development keys, so no key is ever held by the page. Never offered on any other chain.
 */
export function devWallet(parameters: { address: Address; rpcUrl: string; chainId: number }) {
  const address = getAddress(parameters.address);
  let requestId = 0;
  const request = (async ({ method, params }: { method: string; params?: unknown }) => {
    if (method === "eth_accounts" || method === "eth_requestAccounts") return [address];
    if (method === "eth_chainId") return numberToHex(parameters.chainId);
    if (method === "wallet_switchEthereumChain") return null;
    const response = await fetch(parameters.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++requestId, method, params: params ?? [] }),
    });
    const answer = (await response.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
    if (answer.error) throw Object.assign(new Error(answer.error.message), answer.error);
    return answer.result;
  }) as EIP1193RequestFn;
  const provider = { request, on: () => undefined, removeListener: () => undefined };

  return createConnector((config) => ({
    id: "localDevWallet",
    name: "Local dev wallet",
    type: "localDevWallet",
    async connect<withCapabilities extends boolean = false>() {
      localStorage.setItem(rememberKey, "1");
      config.emitter.emit("change", { accounts: [address], chainId: parameters.chainId });
      return { accounts: [address], chainId: parameters.chainId } as unknown as {
        accounts: withCapabilities extends true ? readonly { address: Address; capabilities: Record<string, unknown> }[] : readonly Address[];
        chainId: number;
      };
    },
    async disconnect() {
      localStorage.removeItem(rememberKey);
    },
    async getAccounts() {
      return [address];
    },
    async getChainId() {
      return parameters.chainId;
    },
    async getProvider() {
      return provider;
    },
    async isAuthorized() {
      return localStorage.getItem(rememberKey) === "1";
    },
    async switchChain({ chainId }) {
      const chain = config.chains.find((candidate) => candidate.id === chainId);
      if (!chain) throw new Error(`The local dev wallet only knows chain ${parameters.chainId}.`);
      return chain;
    },
    onAccountsChanged() {},
    onChainChanged() {},
    onDisconnect() {
      config.emitter.emit("disconnect");
    },
  }));
}
