import { HostAnswerTooLargeError, hostEndpoint } from "@session-jobs/sdk";
import { readHostJson } from "../hostJson.ts";

/** `GET /ready`: ready or not, and each named check ("ok" or why not: node, rpc, backend, storage). */
export type NodeReadiness = { ok: boolean; detail: string; checks: Record<string, string> };

/** Asks the node at `apiUrl` whether it is ready, and why not. */
export async function readiness(apiUrl: string): Promise<NodeReadiness> {
  try {
    const response = await fetch(hostEndpoint({ hostUrl: apiUrl }, "/ready"), { signal: AbortSignal.timeout(5_000) });
    const body = (await readHostJson(response).catch((error: unknown) => (error instanceof SyntaxError ? {} : Promise.reject(error)))) as {
      error?: { message?: string };
      checks?: unknown;
    };
    const checks = readinessChecks(body.checks);
    return response.ok
      ? { ok: true, detail: "ready: backend and chain answer", checks }
      : { ok: false, detail: (body.error?.message ?? `HTTP ${response.status}`).slice(0, 200), checks };
  } catch (error) {
    return { ok: false, detail: error instanceof HostAnswerTooLargeError ? "its answer is too large" : "does not answer", checks: {} };
  }
}

/** The named checks of a `/ready` answer, strings only (the node is not trusted to send shapes). */
export function readinessChecks(raw: unknown): Record<string, string> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return {};
  return Object.fromEntries(
    Object.entries(raw)
      .filter((entry): entry is [string, string] => typeof entry[1] === "string")
      .slice(0, 16)
      .map(([name, result]) => [name.slice(0, 40), result.slice(0, 200)]),
  );
}
