/**
 * TEST HELPER: one anvil with the Session Jobs contracts deployed, a model approved, and helpers
 * to open sessions as a user with a fresh session key. Accounts: 0 deployer, 1 host, 2 user.
 */
import { anvilPrivateKeys } from "@session-jobs/contracts/anvil";
import { hostEarningsAbi, jobMarketplaceWithModelsAbi, modelRegistryAbi } from "@session-jobs/contracts/abis";
import { startLocalChain } from "@session-jobs/contracts/local-chain";
import { getAddress, keccak256, parseEventLogs, stringToHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { resolveHostConfig, type HostConfig, type HostConfigInput } from "../config/config.ts";

export type TestChain = Awaited<ReturnType<typeof startTestChain>>;

export async function startTestChain() {
  const local = await startLocalChain();
  const { anvil, publicClient, wallet, deployment: deployed } = local;
  const deployer = wallet(0);
  const user = wallet(2);
  const contracts = {
    jobMarketplace: getAddress(deployed.jobMarketplace),
    nodeRegistry: getAddress(deployed.nodeRegistry),
    modelRegistry: getAddress(deployed.modelRegistry),
    hostEarnings: getAddress(deployed.hostEarnings),
  };

  const mined = async (hash: Hex) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
    return receipt;
  };

  const repo = "session-jobs/host-test";
  const fileName = "test-double.gguf";
  await mined(
    await deployer.writeContract({
      address: contracts.modelRegistry,
      abi: modelRegistryAbi,
      functionName: "addModel",
      args: [repo, fileName, keccak256(stringToHex(fileName))],
    }),
  );
  const modelId = await publicClient.readContract({
    address: contracts.modelRegistry,
    abi: modelRegistryAbi,
    functionName: "getModelId",
    args: [repo, fileName],
  });

  const hostConfigInput = (input: HostConfigInput): HostConfigInput => {
    return {
      rpcUrl: anvil.rpcUrl,
      privateKey: anvilPrivateKeys[1],
      contracts: { jobMarketplace: contracts.jobMarketplace, nodeRegistry: contracts.nodeRegistry },
      models: [modelId],
      pricing: { minPricePerToken: 2000, minPricePerTokenNative: "2000000000" },
      publicUrl: "http://127.0.0.1:8080",
      server: { port: 0 },
      chain: { pollingIntervalMs: 50, receiptTimeoutMs: 10_000 },
      limits: { sessionCacheMs: 0 },
      ...input,
    };
  };

  return {
    anvil,
    publicClient,
    contracts,
    modelId,
    domain: { chainId: anvil.chainId, marketplace: contracts.jobMarketplace },

    /** Opens an ETH session as the user, naming the model and a fresh session key. */
    async openSession(parameters: { host: Address; pricePerToken: bigint; deposit: bigint; proofInterval: bigint; maxDuration?: bigint }) {
      const sessionKey: PrivateKeyAccount = privateKeyToAccount(generatePrivateKey());
      const hash = await user.writeContract({
        address: contracts.jobMarketplace,
        abi: jobMarketplaceWithModelsAbi,
        functionName: "createSession",
        args: [
          {
            host: parameters.host,
            token: "0x0000000000000000000000000000000000000000",
            deposit: parameters.deposit,
            pricePerToken: parameters.pricePerToken,
            maxDuration: parameters.maxDuration ?? 3600n,
            proofInterval: parameters.proofInterval,
            modelId,
            signer: sessionKey.address,
          },
        ],
        value: parameters.deposit,
      });
      const receipt = await mined(hash);
      const [created] = parseEventLogs({ abi: jobMarketplaceWithModelsAbi, logs: receipt.logs, eventName: "SessionJobCreated" });
      return { jobId: (created!.args as { jobId: bigint }).jobId, sessionKey, depositor: user.account.address };
    },

    async session(jobId: bigint) {
      return publicClient.readContract({ address: contracts.jobMarketplace, abi: jobMarketplaceWithModelsAbi, functionName: "getSession", args: [jobId] });
    },

    async hostEarnings(host: Address): Promise<bigint> {
      return await publicClient.readContract({
        address: contracts.hostEarnings,
        abi: hostEarningsAbi,
        functionName: "getBalance",
        args: [host, "0x0000000000000000000000000000000000000000"],
      });
    },

    /** Settlement events of a transaction. */
    async settlement(hash: Hex) {
      const receipt = await publicClient.getTransactionReceipt({ hash });
      return parseEventLogs({ abi: jobMarketplaceWithModelsAbi, logs: receipt.logs, eventName: "SessionCompleted" })[0]?.args as
        { jobId: bigint; provenTokens: bigint; payment: bigint; treasuryFee: bigint; hostEarnings: bigint; refund: bigint } | undefined;
    },

    /** Proof events of a transaction, by job. */
    async proofs(hash: Hex) {
      const receipt = await publicClient.getTransactionReceipt({ hash });
      return parseEventLogs({ abi: jobMarketplaceWithModelsAbi, logs: receipt.logs, eventName: "ProofSubmitted" }).map(
        (log) => log.args as { jobId: bigint; tokens: bigint },
      );
    },

    /** A host configuration for this chain: host key, contracts, the model, fast polling, a fresh database. */
    hostConfig(input: HostConfigInput & { dbPath: string }): HostConfig {
      return resolveHostConfig(hostConfigInput(input));
    },

    /** The same configuration before validation (JSON: what a host process started by a test reads). */
    hostConfigInput,

    stop: local.stop,
  };
}
