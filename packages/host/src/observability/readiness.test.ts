import { describe, expect, it } from "vitest";
import { backendCheck, createReadiness } from "./readiness.ts";

describe("readiness", () => {
  it("shares one run of the probes among every request of a period, and runs local checks every time", async () => {
    let clock = 0;
    let probes = 0;
    let local = 0;
    const readiness = createReadiness({
      checks: [
        { name: "node", check: () => void local++ },
        { name: "rpc", probe: true, check: async () => void probes++ },
      ],
      cacheMs: 1_000,
      now: () => clock,
    });
    const reports = await Promise.all(Array.from({ length: 100 }, () => readiness.report()));
    expect(reports.every((report) => report.ready)).toBe(true);
    expect({ probes, local }).toEqual({ probes: 1, local: 100 });
    clock += 1_000;
    await readiness.report();
    expect(probes).toBe(2);
  });

  it("names each failing check, turns a thrown error into its first line, and bounds a probe that never answers", async () => {
    const readiness = createReadiness({
      checks: [
        { name: "node", check: () => undefined },
        { name: "hangs", probe: true, check: () => new Promise<undefined>(() => undefined) },
        { name: "throws", probe: true, check: () => Promise.reject(new Error("boom\n    at somewhere")) },
      ],
      timeoutMs: 50,
    });
    expect(await readiness.report()).toEqual({ ready: false, checks: { node: "ok", hangs: "no answer within 50 ms", throws: "boom" } });
  });

  it("probes an upstream backend's GET /models and needs none for the embedded model", async () => {
    const asked: string[] = [];
    const fakeFetch = (async (url: string) => {
      asked.push(url);
      return new Response("{}", { status: url.includes("down") ? 502 : 200 });
    }) as unknown as typeof fetch;
    expect(await backendCheck({ type: "embedded" }, fakeFetch).check(AbortSignal.timeout(1000))).toBeUndefined();
    expect(await backendCheck({ type: "upstream", url: "http://up/v1/", model: "m" }, fakeFetch).check(AbortSignal.timeout(1000))).toBeUndefined();
    expect(await backendCheck({ type: "upstream", url: "http://down/v1", model: "m" }, fakeFetch).check(AbortSignal.timeout(1000))).toBe(
      "the upstream backend answers GET /models with 502",
    );
    expect(asked).toEqual(["http://up/v1/models", "http://down/v1/models"]);
  });
});
