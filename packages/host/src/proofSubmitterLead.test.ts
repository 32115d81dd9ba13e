/**
 * Which process submits proofs is visible to an operator: logged when a process becomes the
 * submitter (at start too) and when it stops being one, and `session_jobs_proof_submitter` (1/0)
 * in /metrics. With SQLite the only process always is; with PostgreSQL, the one holding the lock.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommon } from "./common.ts";
import { resolveHostConfig, type HostConfig } from "./config/config.ts";
import { registerHost } from "./chain/register.ts";
import { createHostNode, type HostNode } from "./node.ts";
import { createTestBackend } from "./testUtils/testBackend.ts";
import { startTestChain, type TestChain } from "./testUtils/testChain.ts";
import { startTestPostgres, type TestPostgres } from "./testUtils/testPostgres.ts";
import { tempDirsRemovedAfterAll } from "./testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

let chain: TestChain;
let postgres: TestPostgres;
const backend = createTestBackend();
const nodes: HostNode[] = [];

beforeAll(async () => {
  [chain, postgres] = await Promise.all([startTestChain(), startTestPostgres({ fsync: false })]);
  await registerHost({ config: chain.hostConfig({ dbPath: join(tempDir("proof-lead-"), "host.sqlite") }) });
}, 120_000);

afterAll(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
  postgres?.stop();
  await chain?.stop();
});

type LogLine = { level: string; message: string; since?: string };

/** A node on `config` whose log lines are kept; `submitter()` reads its /metrics line. */
async function startNode(config: HostConfig) {
  const logs: LogLine[] = [];
  const common = createCommon({ logLevel: "info", processMetrics: false, logDestination: { write: (line: string) => logs.push(JSON.parse(line) as LogLine) } });
  const node = createHostNode({ common, config, backend, shutdownGraceMs: 500, leaderRetryMs: 50 });
  nodes.push(node);
  const url = await node.start();
  const submitter = async () => /^session_jobs_proof_submitter (\d)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1];
  const said = (pattern: RegExp) =>
    logs.filter((line) => pattern.test(line.message)).map((line) => ({ level: line.level, message: line.message, since: line.since }));
  return { node, logs, submitter, said };
}

const submits = /^this process (now submits|stopped submitting) proofs/;

describe("the process that submits proofs says so", () => {
  it("SQLite: the only process submits proofs from its start (logged, gauge 1) until it stops (logged)", async () => {
    const { node, submitter, said } = await startNode(chain.hostConfig({ dbPath: join(tempDir("proof-lead-"), "host.sqlite") }));
    expect(await submitter()).toBe("1");
    expect(said(submits)).toEqual([{ level: "info", message: "this process now submits proofs", since: "start" }]);
    await node.stop();
    expect(said(submits)).toEqual([
      { level: "info", message: "this process now submits proofs", since: "start" },
      { level: "info", message: "this process stopped submitting proofs: the node stopped", since: undefined },
    ]);
  });

  it("PostgreSQL: the process that takes the lock at start says so and reports 1, the other 0; when it stops, the other takes over and says so", async () => {
    const database = await postgres.createDatabase();
    const config = resolveHostConfig(chain.hostConfigInput({ store: database, storePoolSize: 2 }));
    const first = await startNode(config);
    const second = await startNode(config);
    expect(await first.submitter()).toBe("1");
    expect(first.said(submits)).toEqual([{ level: "info", message: "this process now submits proofs", since: "start" }]);
    expect(await second.submitter()).toBe("0");
    expect(second.said(submits)).toEqual([]);

    await first.node.stop();
    expect(first.said(submits)).toEqual([
      { level: "info", message: "this process now submits proofs", since: "start" },
      { level: "info", message: "this process stopped submitting proofs: the node stopped", since: undefined },
    ]);
    await expect.poll(second.submitter, { timeout: 60_000 }).toBe("1");
    expect(second.said(submits)).toEqual([{ level: "info", message: "this process now submits proofs", since: "takeover" }]);

    // Its lock connection is cut (a PostgreSQL restart, a network fault): it says it stopped, then takes the lead again once reconnected.
    await postgres.query(
      database,
      "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'session-jobs-host%'",
    );
    await expect.poll(() => second.said(submits).length, { timeout: 60_000 }).toBe(3);
    expect(second.said(submits).slice(1)).toEqual([
      {
        level: "warn",
        message: "this process stopped submitting proofs: its PostgreSQL lock connection, and the proof lock with it, was lost",
        since: undefined,
      },
      { level: "info", message: "this process now submits proofs", since: "takeover" },
    ]);
    expect(await second.submitter()).toBe("1");
  }, 120_000);
});
