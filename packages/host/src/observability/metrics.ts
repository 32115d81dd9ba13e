import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

const secondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The node's metrics, one object handed around in `common`. */
export type Metrics = ReturnType<typeof createMetrics>;

export type CreateMetricsParameters = {
  /** Also export the process's own metrics (CPU, memory, event loop lag, handles). Default true. */
  processMetrics?: boolean;
};

/**
 * The node's Prometheus metrics (prom-client), in a registry of their own so that several nodes
 * in one process (tests) never share a series.
 */
export function createMetrics(parameters: CreateMetricsParameters = {}) {
  const registry = new Registry();
  if (parameters.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "session_jobs_host_" });
  const registers = [registry];
  let unprovenSource: (() => number | Promise<number>) | undefined;
  const metrics = {
    httpRequests: new Counter({
      name: "session_jobs_http_requests_total",
      help: "HTTP requests answered, by route and status.",
      labelNames: ["route", "status"],
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: "session_jobs_http_request_duration_seconds",
      help: "Time to answer an HTTP request, by route.",
      labelNames: ["route"],
      buckets: secondsBuckets,
      registers,
    }),
    connectionsRefused: new Counter({
      name: "session_jobs_connections_refused_total",
      help: "Connections answered 503 too_many_connections and closed, by the cap reached (total, address).",
      labelNames: ["reason"],
      registers,
    }),
    requestsRefused: new Counter({
      name: "session_jobs_requests_refused_total",
      help: "Requests refused by the session protocol, by error code.",
      labelNames: ["code"],
      registers,
    }),
    generationsActive: new Gauge({ name: "session_jobs_generations_active", help: "Generations running now.", registers }),
    settlementWatchBlock: new Gauge({
      name: "session_jobs_settlement_watch_block",
      help: "The last block the settlement watcher has read: sessions created for this host and ended up to it are known without a chain read. Behind the chain's head while it cannot read logs.",
      registers,
    }),
    generationsAborted: new Counter({ name: "session_jobs_generations_aborted_total", help: "Generations stopped because the client went away.", registers }),
    tokensServed: new Counter({
      name: "session_jobs_tokens_served_total",
      help: "Tokens billed to sessions, by kind (prompt, completion).",
      labelNames: ["kind"],
      registers,
    }),
    upstreamUsageClamped: new Counter({
      name: "session_jobs_upstream_usage_clamped_total",
      help: "Exchanges whose backend reported more tokens than the host reserved or a client accepts, billed at that bound instead, by field (promptTokens, completionTokens).",
      labelNames: ["field"],
      registers,
    }),
    syncBytesHeld: new Gauge({ name: "session_jobs_sync_bytes_held", help: "Bytes of stored exchanges held by sync answers being written now.", registers }),
    syncBytesHeldPeak: new Gauge({
      name: "session_jobs_sync_bytes_held_peak",
      help: "The most bytes sync answers held at once since start (bounded by limits.maxSyncBytesInFlight).",
      registers,
    }),
    sessionSyncs: new Counter({
      name: "session_jobs_session_syncs_total",
      help: "Syncs answered: clients that missed the end of an exchange and asked for what they had not signed.",
      registers,
    }),
    receiptsStored: new Counter({ name: "session_jobs_receipts_stored_total", help: "Signed receipts verified and stored.", registers }),
    receiptsRejected: new Counter({ name: "session_jobs_receipts_rejected_total", help: "Receipts refused, by error code.", labelNames: ["code"], registers }),
    tokensSignedUnproven: new Gauge({
      name: "session_jobs_tokens_signed_unproven",
      help: "Tokens covered by signed receipts but not yet proven on chain.",
      registers,
      // A sum over every open session: read from the store when scraped, not on each receipt or proof.
      // A store that cannot be read (PostgreSQL restarting) keeps the last value: the scrape never fails.
      async collect() {
        if (!unprovenSource) return;
        try {
          this.set(await unprovenSource());
        } catch {
          // The last value stays; `/ready` names the storage fault.
        }
      },
    }),
    storeCommits: new Counter({
      name: "session_jobs_store_commits_total",
      help: "SQLite transactions committed (one fsync each); the writes of one event-loop turn share one.",
      registers,
    }),
    storeCommittedWrites: new Counter({
      name: "session_jobs_store_committed_writes_total",
      help: "Writes committed to SQLite; divided by session_jobs_store_commits_total, the mean group size.",
      registers,
    }),
    proofTransactions: new Counter({
      name: "session_jobs_proof_transactions_total",
      help: "Proof and settlement transactions, by kind and outcome.",
      labelNames: ["kind", "outcome"],
      registers,
    }),
    tokensProven: new Counter({ name: "session_jobs_tokens_proven_total", help: "Tokens proven on chain by this node's transactions.", registers }),
    proofSubmitter: new Gauge({
      name: "session_jobs_proof_submitter",
      help: "1 while this process is the one that submits proofs (holds the PostgreSQL proof lock; always, with SQLite), else 0.",
      registers,
    }),
    rpcRetries: new Counter({ name: "session_jobs_rpc_retries_total", help: "Retries of transient RPC failures.", registers }),
  };
  return {
    ...metrics,
    registry,
    /** Where `session_jobs_tokens_signed_unproven` is read from at each scrape (the store, once open). */
    readUnprovenFrom(source: () => number | Promise<number>): void {
      unprovenSource = source;
    },
    /** The Prometheus text exposition (content type {@link prometheusContentType}). */
    render: (): Promise<string> => registry.metrics(),
  };
}

export const prometheusContentType = Registry.PROMETHEUS_CONTENT_TYPE;

/** The current value of a counter or gauge series (tests, status output). */
export async function metricValue(metric: Counter | Gauge, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get();
  const wanted = Object.entries(labels);
  return values.find((value) => Object.keys(value.labels).length === wanted.length && wanted.every(([key, label]) => value.labels[key] === label))?.value ?? 0;
}
