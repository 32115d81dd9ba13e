/**
 * TEST HELPER: host processes sharing one PostgreSQL store and one anvil chain (`hostProcess.ts`
 * each), the clients that spread over them, and the check that every session settles exactly.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";
import type { HostConfigInput } from "../config/config.ts";
import type { TestChain } from "./testChain.ts";
import type { createTestClient } from "./testClient.ts";
import type { TestPostgres } from "./testPostgres.ts";

export type HostProcess = {
  child: ChildProcess;
  url: string;
  pid: number;
  exited: Promise<void>;
  /** What the process wrote on stderr so far (its warnings and errors). */
  stderr(): string;
};

/** Starts one host process on `input` (tokens `tokenDelayMs` apart); resolves once it serves. */
export function startHostProcess(input: HostConfigInput, tokenDelayMs = 5): Promise<HostProcess> {
  const child = spawn(process.execPath, ["--conditions=@session-jobs/source", "--import", "tsx", fileURLToPath(new URL("./hostProcess.ts", import.meta.url))], {
    env: { ...process.env, TEST_HOST_CONFIG: JSON.stringify(input), TEST_HOST_TOKEN_DELAY_MS: String(tokenDelayMs) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += String(chunk)));
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      // A process the test did not kill died: what it said is the only trace of why.
      if (signal !== "SIGKILL") console.error(`host process ${child.pid} exited (${signal ?? code}):\n${stderr}`);
      resolve();
    }),
  );
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      stdout += String(chunk);
      const line = stdout.split("\n").find((candidate) => candidate.startsWith("{"));
      if (line) resolve({ child, exited, stderr: () => stderr, ...(JSON.parse(line) as { url: string; pid: number }) });
    });
    void exited.then(() => reject(new Error(`host process exited before serving:\n${stdout}\n${stderr}`)));
  });
}

export const isAlive = (host: HostProcess) => host.child.exitCode === null && host.child.signalCode === null;

/** Sends again while the answer is 503 (storage_unavailable: retry later), or `again` says so, as a client or a balancer would. */
export async function untilServed<T extends { status: number }>(
  attempt: () => Promise<T>,
  again: (result: T) => Promise<boolean> = async () => false,
): Promise<T> {
  for (let tries = 1; ; tries++) {
    const result = await attempt();
    if ((result.status !== 503 && !(await again(result))) || tries >= 600) return result;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** How many transactions the shared store holds as signed or sent (not yet mined or dropped), as text. */
export const pendingTransactions = async (postgres: TestPostgres, database: string) =>
  (await postgres.query<{ n: string }>(database, "SELECT count(*) AS n FROM submissions WHERE status IN ('signed', 'sent')"))[0]!.n;

/** Who holds the proof lock, read from PostgreSQL: the server's backend (the lock connection) and the host's operating-system pid. */
export async function proofLeader(postgres: TestPostgres, database: string): Promise<{ backend: number; pid: number } | undefined> {
  const rows = await postgres.query<{ backend: number; name: string }>(
    database,
    `SELECT l.pid AS backend, a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid,
       (SELECT hashtextextended('session-jobs:proof-leader', 0) AS k) key
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
       AND l.classid::bigint = ((key.k >> 32) & 4294967295) AND l.objid::bigint = (key.k & 4294967295)`,
  );
  const match = rows[0] && /pid=(\d+)/.exec(rows[0].name);
  return match ? { backend: rows[0]!.backend, pid: Number(match[1]) } : undefined;
}

export type ClusterSession = Awaited<ReturnType<TestChain["openSession"]>> & { client: ReturnType<typeof createTestClient> };

/**
 * Closes every session through the live processes and checks it settled exactly: one
 * `SessionCompleted` with payment = signed × price, and its `ProofSubmitted` events add up to what
 * was signed (no receipt proven twice, none left out); then no transaction is left pending. With
 * `faulty`, a close that a fault interrupted is retried while the session "is closing" (the mark
 * it left is cleared once the store is back), and one that settled before the fault (the retry
 * answers 409 "is closed") counts as closed: the chain's events decide. Returns each session's proofs.
 */
export async function closeExactly(
  cluster: { chain: TestChain; postgres: TestPostgres; database: string; price: bigint; alive: () => HostProcess[] },
  sessions: ClusterSession[],
  options: { faulty?: boolean } = {},
): Promise<bigint[][]> {
  const { chain, postgres, database, price, alive } = cluster;
  await Promise.all(
    sessions.map(async ({ client, jobId }, index) => {
      client.url = alive()[index % alive().length]!.url;
      // A close that a fault interrupted leaves its mark until cleared: the session "is closing" for a moment.
      const stillClosing = async (answer: Response) =>
        options.faulty === true &&
        answer.status === 409 &&
        ((await answer.clone().json()) as { error: { message: string } }).error.message.endsWith("is closing");
      const closed = await untilServed(() => client.post("/v1/session/close", { jobId: jobId.toString() }), stillClosing);
      const body = (await closed.json()) as { error?: { message: string } };
      if (options.faulty && closed.status === 409 && body.error?.message === `session ${jobId} is closed`) return;
      expect(closed.status, JSON.stringify(body)).toBe(200);
    }),
  );
  const events = (eventName: "ProofSubmitted" | "SessionCompleted") =>
    chain.publicClient.getContractEvents({ address: chain.contracts.jobMarketplace, abi: jobMarketplaceWithModelsAbi, eventName, fromBlock: 0n });
  const [proofEvents, completions] = await Promise.all([events("ProofSubmitted"), events("SessionCompleted")]);
  const proofs: bigint[][] = [];
  for (const { jobId, client } of sessions) {
    const signed = client.cumulativeTokens;
    const completed = completions.map((event) => event.args as { jobId: bigint }).filter((args) => args.jobId === jobId);
    expect(completed).toMatchObject([{ jobId, provenTokens: signed, payment: signed * price }]);
    const proven = proofEvents.filter((event) => (event.args as { jobId: bigint }).jobId === jobId).map((event) => (event.args as { tokens: bigint }).tokens);
    expect(proven.reduce((sum, tokens) => sum + tokens, 0n)).toBe(signed);
    proofs.push(proven);
  }
  await expect.poll(() => pendingTransactions(postgres, database), { timeout: 60_000 }).toBe("0");
  return proofs;
}
