import type { PublicClient } from "viem";
import type { BackendConfig } from "../config/config.ts";

/**
 * One named condition of readiness: resolves with why it fails, or undefined when it holds.
 * A `probe` reaches another service; its result is shared for a moment (see {@link createReadiness}).
 */
export type ReadinessCheck = { name: string; probe?: boolean; check: (signal: AbortSignal) => Promise<string | undefined> | string | undefined };

/** The answer of `GET /ready`: every check by name, "ok" or why it fails. */
export type ReadinessReport = { ready: boolean; checks: Record<string, string> };

export type Readiness = { report(): Promise<ReadinessReport> };

/**
 * Runs named readiness checks together, each bounded by `timeoutMs`. One run of the probes serves
 * every `/ready` request for `cacheMs`, so a flood of requests costs one RPC call and one upstream
 * call per period, not one per request; local checks run every time.
 */
export function createReadiness(parameters: { checks: readonly ReadinessCheck[]; timeoutMs?: number; cacheMs?: number; now?: () => number }): Readiness {
  const timeoutMs = parameters.timeoutMs ?? 2_000;
  const cacheMs = parameters.cacheMs ?? 1_000;
  const now = parameters.now ?? Date.now;
  const probes = parameters.checks.filter((check) => check.probe);
  const local = parameters.checks.filter((check) => !check.probe);
  let lastProbes: { at: number; results: Promise<[string, string][]> } | undefined;

  async function runOne({ name, check }: ReadinessCheck): Promise<[string, string]> {
    const signal = AbortSignal.timeout(timeoutMs);
    const timedOut = new Promise<string>((resolve) => signal.addEventListener("abort", () => resolve(`no answer within ${timeoutMs} ms`), { once: true }));
    try {
      const reason = await Promise.race([Promise.resolve(check(signal)), timedOut]);
      return [name, reason ?? "ok"];
    } catch (error) {
      return [name, error instanceof Error ? error.message.split("\n")[0]! : String(error)];
    }
  }

  return {
    async report() {
      if (!lastProbes || now() - lastProbes.at >= cacheMs) lastProbes = { at: now(), results: Promise.all(probes.map(runOne)) };
      const results = new Map([...(await Promise.all(local.map(runOne))), ...(await lastProbes.results)]);
      const checks = Object.fromEntries(parameters.checks.map(({ name }) => [name, results.get(name)!]));
      return { ready: Object.values(checks).every((result) => result === "ok"), checks };
    },
  };
}

/** The RPC answers: without it the node can neither check sessions nor get paid. */
export function rpcCheck(publicClient: Pick<PublicClient, "getBlockNumber">): ReadinessCheck {
  return {
    name: "rpc",
    probe: true,
    async check() {
      try {
        await publicClient.getBlockNumber({ cacheTime: 0 });
        return undefined;
      } catch {
        return "the RPC does not answer";
      }
    },
  };
}

/** An upstream (OpenAI-compatible) backend answers `GET /models`; the embedded model needs no probe. */
export function backendCheck(backend: BackendConfig, fetchImpl: typeof fetch = globalThis.fetch): ReadinessCheck {
  return {
    name: "backend",
    probe: true,
    async check(signal) {
      if (backend.type !== "upstream") return undefined;
      let response: Response;
      try {
        response = await fetchImpl(`${backend.url.replace(/\/+$/, "")}/models`, {
          signal,
          headers: backend.apiKey ? { authorization: `Bearer ${backend.apiKey}` } : {},
        });
      } catch {
        return "the upstream backend does not answer";
      }
      await response.body?.cancel();
      return response.ok ? undefined : `the upstream backend answers GET /models with ${response.status}`;
    },
  };
}
