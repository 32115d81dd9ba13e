/**
 * Scaling past one host process (issue 14): throughput of 1, 2 and 4 `session-jobs host start`
 * processes sharing one PostgreSQL store (a real server started here, fsync on), side by side in
 * one run. The same open sessions serve every level; each answer goes to another process than the
 * one before (a load balancer without affinity), so sequences, transcripts and receipts cross
 * processes all the time. The fake upstream (in this process) answers without pacing, so that the
 * hosts' own work (signature checks, relaying, commits) is what limits throughput. Printed: tokens/s per level,
 * the ratio to one process, errors, and the proofs on chain against the receipts signed.
 *
 *   npm run bench:scale -w packages/cli -- [--processes 1,2,4] [--sessions 64] [--prompts 3] [--max-tokens 32]
 */
import { writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { streamChat, type Session } from "@session-jobs/sdk";
import { startTestPostgres } from "../../host/src/testUtils/testPostgres.ts";
import { table } from "../src/format.ts";
import { freePort, openUserSession, register, spawnHost, startNetwork, writeHostConfig, type HostProcess } from "../test/reliability/harness.ts";
import { startFakeUpstream } from "./fakeUpstream.ts";

const { values } = parseArgs({
  options: {
    processes: { type: "string", default: "1,2,4" },
    sessions: { type: "string", default: "64" },
    prompts: { type: "string", default: "3" },
    "max-tokens": { type: "string", default: "32" },
  },
});
const levels = values.processes.split(",").map(Number);
const sessionCount = Number(values.sessions);
const promptsPerSession = Number(values.prompts);
const maxTokens = Number(values["max-tokens"]);
for (const value of [...levels, sessionCount, promptsPerSession, maxTokens])
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`options take positive integers (--processes a comma-separated list), not ${JSON.stringify(value)}`);

const cleanups: (() => unknown)[] = [];
try {
  const postgres = await startTestPostgres({ maxConnections: 200 });
  cleanups.push(() => postgres.stop());
  const store = await postgres.createDatabase();
  // In this process, unpaced: a token as fast as the event loop turns.
  const upstream = await startFakeUpstream({ seed: 1, defaultMaxTokens: maxTokens, firstTokenMs: 0, gapMs: [0, 0] });
  cleanups.push(() => upstream.close());
  const network = await startNetwork();
  cleanups.push(() => network.anvil.stop());

  // The first process of every level answers at the registered URL (clients check it when opening).
  const registeredPort = await freePort();
  /** Starts `count` host processes on the shared store, each on its own port. */
  const startHosts = async (count: number): Promise<{ urls: string[]; processes: HostProcess[] }> => {
    const ports = [registeredPort, ...(await Promise.all(Array.from({ length: count - 1 }, () => freePort())))];
    const processes = ports.map((port) => {
      // Every client connects from 127.0.0.1, as everything does behind a load balancer: lift the per-address cap.
      const files = writeHostConfig(network, port, {
        backend: { type: "upstream", url: upstream.baseUrl, model: upstream.model },
        server: { maxConnectionsPerAddress: 1024 },
      });
      cleanups.push(() => files.cleanup());
      const { dbPath: _sqlite, ...shared } = files.input;
      writeFileSync(files.path, JSON.stringify({ ...shared, store, storePoolSize: 8 }));
      return spawnHost(files.path);
    });
    const urls = ports.map((port) => `http://127.0.0.1:${port}`);
    // Serving: the fake upstream has no GET /models, so /ready's backend check would never pass.
    await Promise.all(
      processes.map(async (host) => {
        while (!/serving at/.test(host.output())) {
          if (host.child.exitCode !== null) throw new Error(`a host process exited:\n${host.output()}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }),
    );
    return { urls, processes };
  };

  const registered = writeHostConfig(network, registeredPort);
  cleanups.push(() => registered.cleanup());
  await register(registered.input);
  const opener = await startHosts(1);
  const sessions: Session[] = [];
  while (sessions.length < sessionCount) sessions.push(await openUserSession(network, 1000n));
  await Promise.all(opener.processes.map((host) => host.sigint()));

  /** Every session asks `promptsPerSession` times, each answer from the next process in turn. */
  const run = async (urls: string[]) => {
    let tokens = 0;
    let errors = 0;
    const started = performance.now();
    await Promise.all(
      sessions.map(async (session, index) => {
        for (let prompt = 0; prompt < promptsPerSession; prompt++) {
          session.hostUrl = urls[(index + prompt) % urls.length]!;
          try {
            for await (const _delta of streamChat(session, { messages: [{ role: "user", content: `In the beginning ${prompt}` }], maxTokens })) tokens += 1;
          } catch (error) {
            errors += 1;
            if (errors === 1)
              console.error(
                `  first error: ${(error as Error).message.split("\n")[0]} ${(error as { code?: string }).code ?? ""} ${(error as { hostMessage?: string }).hostMessage ?? ""}`,
              );
          }
        }
      }),
    );
    return { tokensPerSecond: tokens / ((performance.now() - started) / 1000), errors };
  };

  const rows: string[][] = [];
  let baseline: number | undefined;
  for (const count of levels) {
    const hosts = await startHosts(count);
    await run(hosts.urls); // warm: JIT, connections, session caches
    const measured = await run(hosts.urls);
    baseline ??= measured.tokensPerSecond;
    rows.push([String(count), measured.tokensPerSecond.toFixed(0), (measured.tokensPerSecond / baseline).toFixed(2), String(measured.errors)]);
    await Promise.all(hosts.processes.map((host) => host.sigint()));
  }
  const [proofs] = await postgres.query<{ submitted: string; signed: string; proven: string }>(
    store,
    "SELECT (SELECT count(*) FROM submissions WHERE status = 'confirmed') AS submitted, (SELECT sum(signed_tokens) FROM sessions) AS signed, (SELECT sum(proven_tokens) FROM sessions) AS proven",
  );
  console.log(
    `\nscale: ${sessionCount} sessions × ${promptsPerSession} answers of ${maxTokens} tokens per level, each answer from the next process; one PostgreSQL (fsync on)`,
  );
  console.log(table([["host processes", "tokens/s", "ratio to 1 process", "errors"], ...rows]));
  console.log(
    `signed tokens ${proofs!.signed}, proven on chain ${proofs!.proven} in ${proofs!.submitted} transactions (every process stopped proves what it holds)`,
  );
  console.log(
    `(load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores: clients, upstream, PostgreSQL, anvil and the hosts share them; see docs/design.md, "Several host processes")`,
  );
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
}
