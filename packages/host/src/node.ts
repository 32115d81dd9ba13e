import type { ChatBackend } from "@session-jobs/inference";
import type { Address } from "viem";
import { jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";
import { connectChain } from "./chain/chain.ts";
import { createSessionCache } from "./chain/chainSession.ts";
import { createByteBudget } from "./http/byteBudget.ts";
import type { Common } from "./common.ts";
import type { HostConfig } from "./config/config.ts";
import { dashboardPath, dashboardRoutes } from "./http/dashboard.ts";
import { createExposurePolicy } from "./session/exposure.ts";
import { createProofSubmitter, type ProofSubmitter, type UnprovenReport } from "./chain/proofSubmitter.ts";
import { backendCheck, createReadiness, rpcCheck } from "./observability/readiness.ts";
import { createHostRoutes } from "./http/routes.ts";
import { createHttpServer, type HttpServer } from "./http/server.ts";
import { createSessionProtocol } from "./session/sessionProtocol.ts";
import { createSettlementWatcher, type SettlementWatcher } from "./chain/settlementWatcher.ts";
import { openStore } from "./store/openStore.ts";
import { withoutPassword } from "./store/storeUrl.ts";
import { StoreDeploymentError, StoreOpenError } from "./errors.ts";
import type { Store } from "./store/storeTypes.ts";
import { signerRecoveryImplementation } from "./session/signerRecovery.ts";
import { createTransactionSender } from "./chain/transactionSender.ts";
import { registerWalletMetrics } from "./observability/walletMetrics.ts";
import { isEcdsaReceiptOf } from "./session/checkpointSignatures.ts";

export type HostNode = {
  /** Connects to chain, opens the store, recovers unproven receipts and starts serving. Resolves with the URL. */
  start(): Promise<string>;
  /**
   * Stops serving (open responses get a grace period), then submits every signed-but-unproven
   * receipt (waiting at most `proofTimeoutMs`, default `batch.drainTimeoutMs`), closes the store
   * and resolves with what is still unproven. Later calls return the first call's result.
   */
  stop(options?: { proofTimeoutMs?: number }): Promise<UnprovenReport>;
  /** `http://host:port` once started. */
  readonly url: string;
  /** The dashboard's URL (`…/dashboard/`) once started, when it is served. */
  readonly dashboardUrl: string | undefined;
  /** The host's address (the account that submits proofs). */
  readonly address: Address;
  /** Submits every signed-but-unproven receipt now (operators, tests). */
  flushProofs(): Promise<void>;
};

export type CreateHostNodeParameters = {
  common: Common;
  config: HostConfig;
  /** The model this node serves; the caller owns it (and closes it after `stop`). */
  backend: ChatBackend;
  /** How long open responses may finish when stopping, in milliseconds. Default 10000. */
  shutdownGraceMs?: number;
  /** Period of the submitter's housekeeping (idle sessions, deadlines, pending transactions). */
  submitterTickMs?: number;
  /** The clock in milliseconds (tests move it forward). Default `Date.now`. */
  now?: () => number;
  /** With a PostgreSQL store: how often a process that does not submit proofs tries to take over (ms). Default 2000. */
  leaderRetryMs?: number;
};

/**
 * The host node: an OpenAI-compatible HTTP server in front of `backend`, the session protocol,
 * the receipt store and the proof submitter.
 *
 * @example
 * const node = createHostNode({ common: createCommon(), config: loadHostConfig(), backend });
 * const url = await node.start();
 */
export function createHostNode(parameters: CreateHostNodeParameters): HostNode {
  const { common, config, backend } = parameters;
  let server: HttpServer | undefined;
  let store: Store | undefined;
  let submitter: ProofSubmitter | undefined;
  let settlements: SettlementWatcher | undefined;
  let ready = false;
  let dashboardOn = false;
  let stopping: Promise<UnprovenReport> | undefined;
  const generations = new AbortController();
  /** Stops trying to take the proof lock (PostgreSQL) once stopping. */
  const leadership = new AbortController();
  /** Whether this process listens for receipts stored by any process (from its first lead on). */
  let hearingReceipts = false;
  /** Whether this process submits proofs now: logged at each change, and `session_jobs_proof_submitter` in /metrics. */
  let submittingProofs = false;
  const submitsProofs = (now: boolean) => {
    submittingProofs = now;
    common.metrics.proofSubmitter.set(now ? 1 : 0);
  };

  async function start(): Promise<string> {
    const chain = await connectChain({ config, signal: common.shutdown.signal });
    const now = parameters.now ?? Date.now;
    store = await openStore({
      location: config.store,
      deployment: { chainId: chain.chainId, marketplace: chain.marketplace, host: config.account.address, genesis: chain.genesis },
      now,
      onFault: (fault) => common.logger.error("storage fault: refusing new work", { fault }),
      onRecovered: () => common.logger.info("storage fault over: serving again"),
      onCommit: (writes) => {
        common.metrics.storeCommits.inc();
        common.metrics.storeCommittedWrites.inc(writes);
      },
      ...(parameters.leaderRetryMs !== undefined && { leaderRetryMs: parameters.leaderRetryMs }),
    }).catch((error: unknown) => {
      // The driver's own words name neither the store nor what to do: say which database it was.
      if (config.store.kind !== "postgres" || error instanceof StoreDeploymentError || !(error instanceof Error)) throw error;
      throw new StoreOpenError(withoutPassword(config.store.url), error);
    });
    const storage = store;
    common.metrics.readUnprovenFrom(() => storage.unprovenSignedTokens());
    const exposure = createExposurePolicy(config.limits);
    // While the settlement watcher keeps up, a cached session is current without reading it again.
    const sessions = createSessionCache({
      read: chain.readSession,
      maxAgeMs: config.limits.sessionCacheMs,
      now,
      reportedEndings: () => settlements?.reportedEndings(),
    });
    const sender = createTransactionSender({
      common,
      store,
      publicClient: chain.publicClient,
      account: config.account,
      chainId: chain.chainId,
      pollingIntervalMs: config.chain.pollingIntervalMs,
      receiptTimeoutMs: config.chain.receiptTimeoutMs,
    });
    const domain = { chainId: chain.chainId, marketplace: chain.marketplace };
    const proofSubmitter = createProofSubmitter({
      common,
      store,
      sender,
      sessions,
      marketplace: { address: chain.marketplace, abi: jobMarketplaceWithModelsAbi },
      policy: config.batch,
      exposure,
      abandonmentTimeoutSeconds: await chain.abandonmentTimeoutSeconds(),
      isEcdsaReceipt: (signer, checkpoint, signature) => isEcdsaReceiptOf(domain, signer, checkpoint, signature),
      ...(parameters.submitterTickMs !== undefined && { tickMs: parameters.submitterTickMs }),
      now,
      chainClock: chain.clock,
    });
    submitter = proofSubmitter;
    registerWalletMetrics({
      common,
      publicClient: chain.publicClient,
      host: config.account.address,
      marketplace: chain.marketplace,
      hostEarnings: config.contracts.hostEarnings,
    });
    const protocol = createSessionProtocol({
      common,
      store,
      sessions,
      domain,
      host: config.account.address,
      models: config.models,
      maxUnsignedBytes: config.limits.maxUnsignedBytes,
      syncBudget: createSyncBudget(common, config.limits.maxSyncBytesInFlight),
      exposure,
      // A close waits for its transaction at most receiptTimeoutMs, and may first queue behind another's wait.
      closingLeaseMs: 2 * config.chain.receiptTimeoutMs,
      isValidContractSignature: chain.isValidContractSignature,
      isContract: chain.isContract,
      // Processes sharing a PostgreSQL store hear of receipts through the store, in the one that leads.
      ...(!storage.locks.shared && { onReceiptStored: (jobId: bigint) => notifySubmitter(proofSubmitter, jobId) }),
      chainClock: chain.clock,
    });
    settlements = createSettlementWatcher({
      common,
      publicClient: chain.publicClient,
      marketplace: chain.marketplace,
      pollingIntervalMs: config.chain.pollingIntervalMs,
      now,
      clock: chain.clock,
      created: { host: config.account.address, onSessionCreated: sessions.created },
      onSessionEnded: (jobId, status) =>
        void protocol
          .sessionEnded(jobId, status)
          .catch((error: unknown) => common.logger.warn("cannot record a settled session; the next look at it will", { jobId, error })),
    });
    // From here on, a session that ends on chain is seen: start before anything is served.
    await settlements.start();
    const dashboard = await dashboardRoutes({ config, chain, logger: common.logger });
    dashboardOn = dashboard.length > 0;
    server = createHttpServer({
      common,
      host: config.server.host,
      port: config.server.port,
      corsOrigins: config.server.corsOrigins,
      limits: config.server,
      routes: createHostRoutes({
        common,
        config,
        backend,
        protocol,
        submitter: proofSubmitter,
        identity: { host: config.account.address, chainId: chain.chainId, marketplace: chain.marketplace },
        readiness: createReadiness({
          checks: [
            { name: "node", check: () => (stopping ? "shutting down" : ready ? undefined : "starting: recovering receipts") },
            rpcCheck(chain.publicClient),
            backendCheck(config.backend),
            { name: "storage", check: () => storage.fault() },
          ],
        }),
        stopGenerations: generations.signal,
      }).concat(dashboard),
    });
    const url = await server.listen();
    common.shutdown.add(() => stop());
    await storage.locks.leadProofs((lost) => leadProofs(proofSubmitter, storage, lost), leadership.signal);
    ready = true;
    common.logger.info("host node ready", {
      url,
      host: config.account.address,
      chainId: chain.chainId,
      model: backend.modelId,
      maxConnections: server.maxConnections,
      signerRecovery: signerRecoveryImplementation,
      ...(dashboardOn && { dashboard: `${url}${dashboardPath}/` }),
    });
    return url;
  }

  function stop(options: { proofTimeoutMs?: number } = {}): Promise<UnprovenReport> {
    stopping ??= (async () => {
      ready = false;
      leadership.abort();
      await server?.close({ graceMs: parameters.shutdownGraceMs ?? 10_000, onGraceExpired: () => generations.abort() });
      settlements?.stop();
      const left = (await submitter?.stop(options.proofTimeoutMs ?? config.batch.drainTimeoutMs)) ?? {
        timedOut: false,
        leading: false,
        sessions: 0,
        tokens: 0,
      };
      await store?.close();
      if (submittingProofs) {
        submitsProofs(false);
        common.logger.info("this process stopped submitting proofs: the node stopped", { pid: process.pid });
      }
      if (left.tokens > 0)
        common.logger.warn(
          `host node stopped with signed receipts unproven; ${config.store.kind === "postgres" ? "the process leading the proofs on this store" : "the next start"} proves them`,
          { ...left },
        );
      else common.logger.info("host node stopped; every signed receipt is proven");
      return left;
    })();
    return stopping;
  }

  /**
   * This process submits proofs from now on: it listens for receipts any process stores and
   * starts the submitter (reconciling what a previous leader left pending) until `lost` says the
   * lead went with its lock connection; it contends again once reconnected. A takeover that
   * cannot start (the chain unreachable) keeps the lock and tries again; the first start fails the node.
   */
  async function leadProofs(proofSubmitter: ProofSubmitter, storage: Store, lost: AbortSignal): Promise<void> {
    if (!hearingReceipts) storage.locks.onReceiptStored((jobId) => notifySubmitter(proofSubmitter, jobId));
    hearingReceipts = true;
    const stopLeading = () =>
      proofSubmitter
        .stop(0, "lead lost")
        .catch((error: unknown) => common.logger.warn("cannot stop submitting proofs cleanly; another process reconciles", { error }));
    lost.addEventListener(
      "abort",
      () => {
        submitsProofs(false);
        common.logger.warn("this process stopped submitting proofs: its PostgreSQL lock connection, and the proof lock with it, was lost", {
          pid: process.pid,
        });
        void stopLeading();
      },
      { once: true },
    );
    submitsProofs(true);
    common.logger.info("this process now submits proofs", { pid: process.pid, since: ready ? "takeover" : "start", store: config.store.kind });
    for (;;) {
      try {
        await proofSubmitter.start();
        break;
      } catch (error) {
        if (!ready) throw error;
        if (leadership.signal.aborted || lost.aborted) return;
        common.logger.warn("cannot start submitting proofs; retrying", { error });
        await new Promise((resolve) => setTimeout(resolve, config.chain.pollingIntervalMs * 4));
      }
    }
    // The lead was lost while the submitter started: the stop above ran before the start finished.
    if (lost.aborted) await stopLeading();
  }

  /** A stored receipt may make its session's proof due; a failed look is retried by the submitter's tick. */
  function notifySubmitter(proofSubmitter: ProofSubmitter, jobId: bigint): void {
    proofSubmitter.notify(jobId).catch((error: unknown) => common.logger.warn("cannot look at a stored receipt now", { jobId, error }));
  }

  return {
    start,
    stop,
    get url() {
      return server?.url ?? "";
    },
    get dashboardUrl() {
      return dashboardOn && server ? `${server.url}${dashboardPath}/` : undefined;
    },
    address: config.account.address,
    flushProofs: () => {
      if (!submitter) throw new Error("host node is not started");
      return submitter.flushAll();
    },
  };
}

/** The byte budget of sync answers, reported in the node's metrics. */
function createSyncBudget(common: Common, capacity: number) {
  const budget = createByteBudget({
    capacity,
    onChange: (held) => {
      common.metrics.syncBytesHeld.set(held);
      common.metrics.syncBytesHeldPeak.set(budget.peak);
    },
  });
  return budget;
}
