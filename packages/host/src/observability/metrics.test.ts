import { describe, expect, it } from "vitest";
import { createMetrics, metricValue } from "./metrics.ts";

describe("metrics", () => {
  it("renders the Prometheus text format under the node's metric names", async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.httpRequests.inc({ route: "/v1/chat/completions", status: "200" });
    metrics.httpRequests.inc({ route: "/v1/chat/completions", status: "200" });
    metrics.requestsRefused.inc({ code: 'quote"and\\slash' });
    metrics.httpRequestDuration.observe({ route: "/health" }, 0.02);
    const text = await metrics.render();
    expect(text).toContain('# TYPE session_jobs_http_requests_total counter\nsession_jobs_http_requests_total{route="/v1/chat/completions",status="200"} 2\n');
    expect(text).toContain('session_jobs_requests_refused_total{code="quote\\"and\\\\slash"} 1');
    expect(text).toContain('session_jobs_http_request_duration_seconds_bucket{le="0.01",route="/health"} 0');
    expect(text).toContain('session_jobs_http_request_duration_seconds_bucket{le="0.025",route="/health"} 1');
    expect(text).toContain('session_jobs_http_request_duration_seconds_bucket{le="+Inf",route="/health"} 1');
    expect(text).toContain('session_jobs_http_request_duration_seconds_count{route="/health"} 1');
    expect(text.endsWith("\n")).toBe(true);
    for (const line of text
      .trimEnd()
      .split("\n")
      .filter((line) => line !== ""))
      expect(line).toMatch(/^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? -?[0-9.e+-]+|[a-z_]+\{.*le="\+Inf".*\} \d+)$/);
    expect(await metricValue(metrics.httpRequests, { route: "/v1/chat/completions", status: "200" })).toBe(2);
  });

  it("exports the process's own metrics, and keeps two nodes' series apart", async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.receiptsStored.inc();
    expect(await first.render()).toMatch(/^session_jobs_host_process_cpu_user_seconds_total \d/m);
    expect(await metricValue(second.receiptsStored)).toBe(0);
  });

  it("reads the signed-but-unproven total from its source when scraped, not when receipts are stored", async () => {
    const metrics = createMetrics({ processMetrics: false });
    let reads = 0;
    let total = 40;
    metrics.readUnprovenFrom(() => (reads++, total));
    expect(reads).toBe(0);
    expect(await metrics.render()).toContain("session_jobs_tokens_signed_unproven 40\n");
    total = 0;
    expect(await metrics.render()).toContain("session_jobs_tokens_signed_unproven 0\n");
    expect(reads).toBe(2);
  });

  it("keeps the last signed-but-unproven total when the store cannot be read (PostgreSQL down): the scrape still answers", async () => {
    const metrics = createMetrics({ processMetrics: false });
    let down = false;
    metrics.readUnprovenFrom(() => (down ? Promise.reject(new Error("storage unavailable: PostgreSQL connect ECONNREFUSED; retry later")) : 40));
    metrics.receiptsStored.inc();
    expect(await metrics.render()).toContain("session_jobs_tokens_signed_unproven 40\n");
    down = true;
    const text = await metrics.render();
    expect(text).toContain("session_jobs_tokens_signed_unproven 40\n");
    expect(text).toContain("session_jobs_receipts_stored_total 1\n");
  });
});
