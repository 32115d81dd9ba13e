import { getAbiItem, zeroAddress, zeroHash, type Address, type Hex, type PublicClient } from "viem";
import { jobMarketplaceWithModelsAbi, proofSystemAbi } from "@session-jobs/contracts/abis";
import type { Common } from "../common.ts";
import type { OnChainSession } from "./chainSession.ts";

/** The logs the session creations are derived from: the marketplace's creations and the ProofSystem's verifier changes. */
export const creationEvents = [
  getAbiItem({ abi: jobMarketplaceWithModelsAbi, name: "SessionJobCreated" }),
  getAbiItem({ abi: proofSystemAbi, name: "ModelVerifierUpdated" }),
] as const;

/** What this module reads of a decoded log (the settlement watcher's logs include the endings too). */
export type WatchedLog = { eventName: string; args: unknown; blockNumber: bigint; blockTimestamp?: bigint | undefined };

type Created = {
  jobId: bigint;
  depositor: Address;
  host: Address;
  token: Address;
  deposit: bigint;
  pricePerToken: bigint;
  maxDuration: bigint;
  proofInterval: bigint;
  modelId: Hex;
  signer: Address;
};

/** The marketplace caps a session's token count to its uint48 storage. */
const maxStoredTokens = 2n ** 48n - 1n;

/**
 * Derives the sessions created for `host` from the marketplace's `SessionJobCreated` logs, each exactly
 * as `getSession` reads it right after creation (JobMarketplaceWithModels `_open`): status active,
 * nothing proven, last activity and creation at the block's timestamp, `maxTokens` the deposit over
 * the price capped to uint48, the signer as emitted (already the depositor when no session key was
 * named), and the model only when it had a verifier plug-in at that point of the chain (the contract
 * stores it only then; the event always names it). That last fact is learned once per model, by reading
 * `modelVerifiers` at the block before the first range that names it, and then kept current from
 * the ProofSystem's `ModelVerifierUpdated` logs in chain order, so a change in the same block as a
 * creation is placed right. A creation whose model or block timestamp cannot be read is left out:
 * its session is read from chain when first asked for, as before.
 */
export function createSessionCreations(parameters: { common: Common; publicClient: PublicClient; proofSystem: Address; host: Address }) {
  const { common, publicClient, proofSystem } = parameters;
  const host = parameters.host.toLowerCase();
  /** Whether each model named by a creation has a verifier, as of the end of the last range read. */
  const verifiers = new Map<Hex, boolean>();

  const isOurs = (log: WatchedLog): log is WatchedLog & { args: Created } =>
    log.eventName === "SessionJobCreated" && (log.args as Created).host.toLowerCase() === host;

  /** Reads the verifier of each model not known yet at `blockNumber`; a model whose read fails stays unknown. */
  const learnVerifiers = async (models: Hex[], blockNumber: bigint) => {
    const read = await Promise.allSettled(
      models.map((modelId) =>
        publicClient.readContract({ address: proofSystem, abi: proofSystemAbi, functionName: "modelVerifiers", args: [modelId], blockNumber }),
      ),
    );
    read.forEach((result, index) => {
      if (result.status === "fulfilled") verifiers.set(models[index]!, result.value !== zeroAddress);
    });
    return read.find((result) => result.status === "rejected")?.reason as unknown;
  };

  /** Each block's timestamp: from the log where the node includes it, else one block read per block. */
  const timestampsOf = async (logs: WatchedLog[]) => {
    const timestamps = new Map<bigint, bigint>();
    const missing = new Set<bigint>();
    for (const log of logs) {
      if (log.blockTimestamp !== undefined) timestamps.set(log.blockNumber, log.blockTimestamp);
      else missing.add(log.blockNumber);
    }
    const read = await Promise.allSettled([...missing].map((blockNumber) => publicClient.getBlock({ blockNumber })));
    for (const result of read) if (result.status === "fulfilled") timestamps.set(result.value.number, result.value.timestamp);
    return { timestamps, failure: read.find((result) => result.status === "rejected")?.reason as unknown };
  };

  return {
    /**
     * The sessions created for the host in a range of blocks (from `fromBlock`), given the range's
     * logs in chain order. Ranges must be given in order, each once, with no gap.
     */
    async sessions(logs: readonly WatchedLog[], fromBlock: bigint): Promise<OnChainSession[]> {
      const ours = logs.filter(isOurs);
      const unknownModels = [...new Set(ours.map((log) => log.args.modelId).filter((modelId) => modelId !== zeroHash && !verifiers.has(modelId)))];
      const [verifierFailure, { timestamps, failure: timestampFailure }] = await Promise.all([
        unknownModels.length > 0 ? learnVerifiers(unknownModels, fromBlock - 1n) : undefined,
        timestampsOf(ours),
      ]);
      const failure = verifierFailure ?? timestampFailure;
      if (failure !== undefined)
        common.logger.warn("cannot read what a new session's terms need; it is read from chain when first asked for", { error: failure });

      const sessions: OnChainSession[] = [];
      for (const log of logs) {
        if (log.eventName === "ModelVerifierUpdated") {
          const { modelId, verifier } = log.args as { modelId: Hex; verifier: Address };
          if (verifiers.has(modelId)) verifiers.set(modelId, verifier !== zeroAddress);
          continue;
        }
        if (!isOurs(log)) continue;
        const created = log.args;
        const hasVerifier = created.modelId === zeroHash ? false : verifiers.get(created.modelId);
        const createdAt = timestamps.get(log.blockNumber);
        if (hasVerifier === undefined || createdAt === undefined) continue;
        const maxTokens = created.deposit / created.pricePerToken;
        sessions.push({
          jobId: created.jobId,
          status: "active",
          depositor: created.depositor,
          host: created.host,
          token: created.token,
          signer: created.signer,
          modelId: hasVerifier ? created.modelId : zeroHash,
          depositAmount: created.deposit,
          pricePerToken: created.pricePerToken,
          provenTokens: 0n,
          maxTokens: maxTokens > maxStoredTokens ? maxStoredTokens : maxTokens,
          checkpointInterval: created.proofInterval,
          maxDuration: created.maxDuration,
          createdAt,
          lastActivity: createdAt,
        });
      }
      return sessions;
    },
  };
}

export type SessionCreations = ReturnType<typeof createSessionCreations>;
