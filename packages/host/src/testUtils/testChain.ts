/**
 * TEST HELPER: one anvil with the Session Jobs contracts deployed, a model approved, and helpers
 * to open sessions as a user with a fresh session key. Accounts: 0 deployer, 1 host, 2 user.
 */
import { anvilPrivateKeys } from "@session-jobs/contracts/anvil";
import { hostEarningsAbi, jobMarketplaceWithModelsAbi, modelRegistryAbi, proofSystemAbi, testUsdcAbi } from "@session-jobs/contracts/abis";
import { startLocalChain } from "@session-jobs/contracts/local-chain";
import { createPublicClient, getAddress, http, keccak256, maxUint256, parseEventLogs, stringToHex, zeroAddress, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { resolveHostConfig, type HostConfig, type HostConfigInput } from "../config/config.ts";

export type TestChain = Awaited<ReturnType<typeof startTestChain>>;

type OpenSessionParameters = {
  host: Address;
  pricePerToken: bigint;
  deposit: bigint;
  proofInterval: bigint;
  maxDuration?: bigint;
  token?: Address;
  sessionKey?: boolean;
  modelId?: Hex;
};

export async function startTestChain(options: { deployTestUsdc?: boolean } = {}) {
  const local = await startLocalChain(options);
  const { anvil, publicClient, wallet, deployment: deployed } = local;
  const deployer = wallet(0);
  const user = wallet(2);
  const contracts = {
    jobMarketplace: getAddress(deployed.jobMarketplace),
    nodeRegistry: getAddress(deployed.nodeRegistry),
    modelRegistry: getAddress(deployed.modelRegistry),
    hostEarnings: getAddress(deployed.hostEarnings),
    proofSystem: getAddress(deployed.proofSystem),
    /** With `deployTestUsdc` only. */
    usdc: deployed.usdc && getAddress(deployed.usdc),
  };

  /**
   * anvil's own RPC, sent once and answered when done. Not through `publicClient`, whose requests
   * time out after 10 s and are sent again: `anvil_mine` of a few hundred blocks on a loaded machine
   * took longer (anvil writes each block's state to disk), and every resend mined them once more.
   */
  const anvilControl = createPublicClient({ transport: http(anvil.rpcUrl, { retryCount: 0, timeout: 120_000 }) });

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

  /**
   * Sends a session's creation as the user: by default in ETH, naming the model and a fresh session
   * key. An ERC-20 `token` is minted to the user and approved first; `sessionKey: false` names none
   * (the user signs); `modelId` names another model (zero: any). Returns without waiting for it.
   */
  const sendOpenSession = async (parameters: OpenSessionParameters) => {
    const sessionKey: PrivateKeyAccount = privateKeyToAccount(generatePrivateKey());
    const token = parameters.token ?? zeroAddress;
    if (token !== zeroAddress) {
      await mined(await user.writeContract({ address: token, abi: testUsdcAbi, functionName: "mint", args: [user.account.address, parameters.deposit] }));
      await mined(await user.writeContract({ address: token, abi: testUsdcAbi, functionName: "approve", args: [contracts.jobMarketplace, maxUint256] }));
    }
    const hash = await user.writeContract({
      address: contracts.jobMarketplace,
      abi: jobMarketplaceWithModelsAbi,
      functionName: "createSession",
      args: [
        {
          host: parameters.host,
          token,
          deposit: parameters.deposit,
          pricePerToken: parameters.pricePerToken,
          maxDuration: parameters.maxDuration ?? 3600n,
          proofInterval: parameters.proofInterval,
          modelId: parameters.modelId ?? modelId,
          signer: parameters.sessionKey === false ? zeroAddress : sessionKey.address,
        },
      ],
      value: token === zeroAddress ? parameters.deposit : 0n,
    });
    return { hash, sessionKey };
  };

  return {
    anvil,
    publicClient,
    contracts,
    modelId,
    domain: { chainId: anvil.chainId, marketplace: contracts.jobMarketplace },

    /** Opens a session as the user ({@link sendOpenSession}) and waits for it. */
    async openSession(parameters: OpenSessionParameters) {
      const { hash, sessionKey } = await sendOpenSession(parameters);
      const receipt = await mined(hash);
      const [created] = parseEventLogs({ abi: jobMarketplaceWithModelsAbi, logs: receipt.logs, eventName: "SessionJobCreated" });
      return { jobId: (created!.args as { jobId: bigint }).jobId, sessionKey, depositor: user.account.address };
    },

    sendOpenSession,

    /** Gives a model a verifier plug-in (zero: none), as the ProofSystem's owner; `mine: false` only sends it (automine off). */
    async setModelVerifier(model: Hex, verifier: Address, options: { mine?: boolean } = {}) {
      const hash = await deployer.writeContract({
        address: contracts.proofSystem,
        abi: proofSystemAbi,
        functionName: "setModelVerifier",
        args: [model, verifier],
      });
      if (options.mine !== false) await mined(hash);
      return hash;
    },

    /**
     * Sends the user's `completeSessionJob` without waiting, with a fixed gas limit (it may name a session not mined yet);
     * `priorityFeePerGas` orders it before cheaper transactions of the same block (automine off).
     */
    sendCompleteSession: (jobId: bigint, options: { priorityFeePerGas?: bigint } = {}) =>
      user.writeContract({
        address: contracts.jobMarketplace,
        abi: jobMarketplaceWithModelsAbi,
        functionName: "completeSessionJob",
        args: [jobId],
        gas: 1_000_000n,
        ...(options.priorityFeePerGas !== undefined && { maxPriorityFeePerGas: options.priorityFeePerGas, maxFeePerGas: 10n * options.priorityFeePerGas }),
      }),

    /** Calls anvil's own RPC (automine, mining) once: its answer is what the test waits for (see {@link anvilControl}). */
    anvilRpc: (method: string, params: unknown[] = []) => anvilControl.request({ method: method as never, params: params as never }),

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

    /** A session's `SessionCompleted` events: who completed it and what the chain paid. */
    completions: (jobId: bigint) =>
      publicClient.getContractEvents({
        address: contracts.jobMarketplace,
        abi: jobMarketplaceWithModelsAbi,
        eventName: "SessionCompleted",
        args: { jobId },
        fromBlock: 0n,
      }),

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
