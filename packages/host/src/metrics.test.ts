import { describe, expect, it } from "vitest";
import { createMetrics } from "./metrics.ts";

describe("metrics", () => {
  it("renders the Prometheus text format", () => {
    const metrics = createMetrics();
    metrics.httpRequests.inc({ route: "/v1/chat/completions", status: "200" });
    metrics.httpRequests.inc({ route: "/v1/chat/completions", status: "200" });
    metrics.requestsRefused.inc({ code: 'quote"and\\slash' });
    metrics.httpRequestDuration.observe(0.02, { route: "/health" });
    const text = metrics.render();
    expect(text).toContain('# TYPE session_jobs_http_requests_total counter\nsession_jobs_http_requests_total{route="/v1/chat/completions",status="200"} 2\n');
    expect(text).toContain('session_jobs_requests_refused_total{code="quote\\"and\\\\slash"} 1');
    expect(text).toContain('session_jobs_http_request_duration_seconds_bucket{route="/health",le="0.01"} 0');
    expect(text).toContain('session_jobs_http_request_duration_seconds_bucket{route="/health",le="0.025"} 1');
    expect(text).toContain('session_jobs_http_request_duration_seconds_bucket{route="/health",le="+Inf"} 1');
    expect(text).toContain('session_jobs_http_request_duration_seconds_count{route="/health"} 1');
    expect(text.endsWith("\n")).toBe(true);
    for (const line of text.trimEnd().split("\n"))
      expect(line).toMatch(/^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? -?[0-9.e+-]+|[a-z_]+\{.*le="\+Inf".*\} \d+)$/);
  });
});
