import { createPublicClient, hashTypedData, http, webSocket, type Address, type Hex, type PublicClient } from "viem";
import { jobMarketplaceWithModelsAbi, proofSystemAbi } from "@session-jobs/contracts/abis";
import { checkpointTypes, readOnChainSession, sessionJobsDomain, type Checkpoint } from "@session-jobs/protocol";
import type { OnChainSession } from "./chainSession.ts";
import { createChainClock, type ChainClock } from "./chainClock.ts";
import type { HostConfig } from "../config/config.ts";
import { withRetry } from "./retry.ts";

export type Chain = {
  publicClient: PublicClient;
  chainId: number;
  /** The hash of block 0, read once at connect: it tells a development chain restarted with the same id from the old one. */
  genesis: Hex;
  marketplace: Address;
  /** The chain's time, from the head at connect on; the settlement watcher keeps it current. */
  clock: ChainClock;
  readSession(jobId: bigint): Promise<OnChainSession>;
  /** The marketplace's ABANDONMENT_TIMEOUT. */
  abandonmentTimeoutSeconds(): Promise<number>;
  /** Whether `address` holds code (a contract wallet, or an account delegated to one). */
  isContract(address: Address): Promise<boolean>;
  /**
   * Asks the ProofSystem whether `signer` (a contract, ERC-1271) accepts a checkpoint signature, in a
   * call from the host's own address: `tx.origin` is then the proof transaction's (a signer that
   * answers "valid" only to calls from nobody is refused at once).
   */
  isValidContractSignature(signer: Address, checkpoint: Checkpoint, signature: Hex): Promise<boolean>;
};

/** Connects to the RPC, checks the chain id against the configuration, and reads sessions. */
export async function connectChain(parameters: {
  config: Pick<HostConfig, "rpcUrl" | "chainId" | "contracts" | "chain"> & { account: { address: Address } };
  signal?: AbortSignal;
}): Promise<Chain> {
  const { config } = parameters;
  const transport = config.rpcUrl.startsWith("ws") ? webSocket(config.rpcUrl) : http(config.rpcUrl);
  const publicClient = createPublicClient({ transport, pollingInterval: config.chain.pollingIntervalMs }) as PublicClient;
  const chainId = await withRetry(() => publicClient.getChainId(), { signal: parameters.signal });
  if (config.chainId !== undefined && config.chainId !== chainId)
    throw new Error(`RPC ${config.rpcUrl} serves chain ${chainId}, the configuration says chain ${config.chainId}`);
  const genesis = (await withRetry(() => publicClient.getBlock({ blockNumber: 0n }), { signal: parameters.signal })).hash;
  const clock = createChainClock(await withRetry(() => publicClient.getBlock({ blockTag: "latest" }), { signal: parameters.signal }));
  const marketplace = config.contracts.jobMarketplace;
  let proofSystem: Promise<Address> | undefined;

  return {
    publicClient,
    chainId,
    genesis,
    marketplace,
    clock,
    readSession: (jobId) => readOnChainSession(publicClient, { marketplace, jobId }),
    async abandonmentTimeoutSeconds() {
      return Number(
        await withRetry(() => publicClient.readContract({ address: marketplace, abi: jobMarketplaceWithModelsAbi, functionName: "ABANDONMENT_TIMEOUT" }), {
          signal: parameters.signal,
        }),
      );
    },
    async isContract(address) {
      const code = await publicClient.getCode({ address });
      return code !== undefined && code !== "0x";
    },
    async isValidContractSignature(signer, checkpoint, signature) {
      proofSystem ??= publicClient.readContract({ address: marketplace, abi: jobMarketplaceWithModelsAbi, functionName: "proofSystem" });
      const digest = hashTypedData({
        domain: sessionJobsDomain({ chainId, marketplace }),
        types: checkpointTypes,
        primaryType: "Checkpoint",
        message: checkpoint,
      });
      return publicClient.readContract({
        account: config.account.address,
        address: await proofSystem,
        abi: proofSystemAbi,
        functionName: "isValidReceiptSignature",
        args: [signer, digest, signature],
      });
    },
  };
}
