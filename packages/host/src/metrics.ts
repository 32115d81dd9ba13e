/**
 * A small Prometheus registry (counters, gauges, histograms with labels) rendered in the text
 * exposition format 0.0.4. The node needs a dozen series; a client library would be a dependency
 * for that alone.
 */

type Labels = Record<string, string>;

type MetricKind = "counter" | "gauge" | "histogram";

type Series = { labels: Labels; value: number };

type HistogramSeries = { labels: Labels; buckets: number[]; sum: number; count: number };

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: MetricKind,
  ) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name: ${name}`);
  }
  abstract render(): string[];
  protected header(): string[] {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.kind}`];
  }
}

export class Counter extends Metric {
  private readonly series = new Map<string, Series>();
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, amount = 1): void {
    if (amount < 0) throw new Error(`counter ${this.name} cannot decrease`);
    const entry = getOrCreate(this.series, labels, () => ({ labels, value: 0 }));
    entry.value += amount;
  }
  get(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.value ?? 0;
  }
  override render(): string[] {
    return [...this.header(), ...[...this.series.values()].map((s) => `${this.name}${formatLabels(s.labels)} ${formatNumber(s.value)}`)];
  }
}

export class Gauge extends Metric {
  private readonly series = new Map<string, Series>();
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  set(value: number, labels: Labels = {}): void {
    getOrCreate(this.series, labels, () => ({ labels, value: 0 })).value = value;
  }
  inc(labels: Labels = {}, amount = 1): void {
    getOrCreate(this.series, labels, () => ({ labels, value: 0 })).value += amount;
  }
  dec(labels: Labels = {}, amount = 1): void {
    this.inc(labels, -amount);
  }
  get(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.value ?? 0;
  }
  override render(): string[] {
    return [...this.header(), ...[...this.series.values()].map((s) => `${this.name}${formatLabels(s.labels)} ${formatNumber(s.value)}`)];
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, HistogramSeries>();
  constructor(
    name: string,
    help: string,
    readonly bounds: readonly number[],
  ) {
    super(name, help, "histogram");
  }
  observe(value: number, labels: Labels = {}): void {
    const entry = getOrCreate(this.series, labels, () => ({ labels, buckets: this.bounds.map(() => 0), sum: 0, count: 0 }));
    this.bounds.forEach((bound, index) => {
      if (value <= bound) entry.buckets[index]! += 1;
    });
    entry.sum += value;
    entry.count += 1;
  }
  override render(): string[] {
    const lines = this.header();
    for (const s of this.series.values()) {
      this.bounds.forEach((bound, index) => {
        lines.push(`${this.name}_bucket${formatLabels({ ...s.labels, le: formatNumber(bound) })} ${s.buckets[index]}`);
      });
      lines.push(`${this.name}_bucket${formatLabels({ ...s.labels, le: "+Inf" })} ${s.count}`);
      lines.push(`${this.name}_sum${formatLabels(s.labels)} ${formatNumber(s.sum)}`);
      lines.push(`${this.name}_count${formatLabels(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

const secondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The node's metrics, one object handed around in `common`. */
export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics() {
  const metrics = {
    httpRequests: new Counter("session_jobs_http_requests_total", "HTTP requests answered, by route and status."),
    httpRequestDuration: new Histogram("session_jobs_http_request_duration_seconds", "Time to answer an HTTP request, by route.", secondsBuckets),
    requestsRefused: new Counter("session_jobs_requests_refused_total", "Requests refused by the session protocol, by error code."),
    generationsActive: new Gauge("session_jobs_generations_active", "Generations running now."),
    generationsAborted: new Counter("session_jobs_generations_aborted_total", "Generations stopped because the client went away."),
    tokensServed: new Counter("session_jobs_tokens_served_total", "Tokens billed to sessions, by kind (prompt, completion)."),
    sessionSyncs: new Counter("session_jobs_session_syncs_total", "Syncs answered: clients that missed the end of an exchange and asked for what they had not signed."),
    receiptsStored: new Counter("session_jobs_receipts_stored_total", "Signed receipts verified and stored."),
    receiptsRejected: new Counter("session_jobs_receipts_rejected_total", "Receipts refused, by error code."),
    tokensSignedUnproven: new Gauge("session_jobs_tokens_signed_unproven", "Tokens covered by signed receipts but not yet proven on chain."),
    proofTransactions: new Counter("session_jobs_proof_transactions_total", "Proof and settlement transactions, by kind and outcome."),
    tokensProven: new Counter("session_jobs_tokens_proven_total", "Tokens proven on chain by this node's transactions."),
    rpcRetries: new Counter("session_jobs_rpc_retries_total", "Retries of transient RPC failures."),
  };
  const all: Metric[] = Object.values(metrics);
  return {
    ...metrics,
    /** The Prometheus text exposition (content type {@link prometheusContentType}). */
    render(): string {
      return `${all.flatMap((metric) => metric.render()).join("\n")}\n`;
    },
  };
}

export const prometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

function getOrCreate<T>(map: Map<string, T>, labels: Labels, create: () => T): T {
  const key = labelKey(labels);
  let entry = map.get(key);
  if (!entry) {
    entry = create();
    map.set(key, entry);
  }
  return entry;
}

function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([key, value]) => `${key}="${escapeLabelValue(value)}"`).join(",")}}`;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
