import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type Address,
  type Chain,
  type HttpTransport,
  type PublicClient,
  type WalletClient,
} from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { anvilPrivateKeys, startAnvil, type Anvil } from "./anvil.ts";
import { deploySessionJobs, type SessionJobsDeployment } from "./deploy.ts";

/** Receipts are awaited by polling and anvil mines at once: poll fast (viem's default is 4 s). */
export const localPollingIntervalMs = 50;

export type StartLocalChainParameters = {
  /** Deploy TestUSDC and accept it in the marketplace. */
  deployTestUsdc?: boolean;
  /** Receives the 10% fee. Default: the deployer (anvil account 0). */
  treasury?: Address;
};

export type LocalChain = {
  anvil: Anvil;
  chain: Chain;
  transport: HttpTransport;
  publicClient: PublicClient;
  /** A wallet client for anvil's development account `index`. */
  wallet: (index: number) => WalletClient<HttpTransport, Chain, PrivateKeyAccount>;
  deployment: SessionJobsDeployment;
  stop: () => Promise<void>;
};

/**
 * An anvil on a free port with the Session Jobs contracts deployed by anvil account 0, and
 * clients for it: what tests, benchmarks and local tools start from.
 *
 * @example
 * const local = await startLocalChain({ deployTestUsdc: true });
 * const user = local.wallet(2);
 * await local.stop();
 */
export async function startLocalChain(parameters: StartLocalChainParameters = {}): Promise<LocalChain> {
  const anvil = await startAnvil();
  try {
    const chain = defineChain({
      id: anvil.chainId,
      name: "anvil",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [anvil.rpcUrl] } },
    });
    const transport = http(anvil.rpcUrl);
    const publicClient = createPublicClient({ chain, transport, pollingInterval: localPollingIntervalMs }) as PublicClient;
    const wallet = (index: number) => {
      const key = anvilPrivateKeys[index];
      if (!key) throw new Error(`no anvil key ${index}`);
      return createWalletClient({ account: privateKeyToAccount(key), chain, transport, pollingInterval: localPollingIntervalMs });
    };
    const deployment = await deploySessionJobs({ walletClient: wallet(0), publicClient, ...parameters });
    return { anvil, chain, transport, publicClient, wallet, deployment, stop: () => anvil.stop() };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}
