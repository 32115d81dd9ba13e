/**
 * How well the host keeps up with a GPU server (issue 14). A fake OpenAI-compatible upstream paced
 * like one (bench/fakeUpstream.ts: 40 ms to the first token, then a token every 10–20 ms, seeded
 * jitter) is called, for each concurrency level, first directly and then through a host node
 * (a separate OS process, `session-jobs host start`) by the SDK's paid sessions, side by side in one
 * run. Each level is measured twice: with every session's first request sent at once (a thundering herd:
 * every request's set-up CPU, client and host, queues behind the others') and with the first requests
 * spread evenly over one answer's expected duration, as sessions that keep asking arrive in steady state.
 * Printed per level and start: throughput ratio host/direct, time to first token and inter-token gap
 * p50/p99 on both paths (and the TTFT overhead of the sessions' first requests alone), the host process's CPU per 1,000 relayed tokens, this process's (the
 * client's) on each path, so the SDK's own cost is a figure, the host's peak RSS and its
 * event-loop delay p99/max and the SQLite writes per commit, and the share of the host's and the floor's CPU spent in the kernel; each level `--runs` times, every figure the median of the runs.
 * Beside the host, the FLOOR: a bare pass-through relay (bench/passThroughRelay.ts, its own process:
 * one `res.write` per upstream read, no parsing) read by the same direct client at each level, and
 * its CPU per 1,000 tokens, so that "the host costs X× the floor of Node's HTTP on this machine" is
 * measured in the same run. Nothing here is asserted: numbers on a shared machine are noisy, so read the ratios.
 *
 *   npm run bench:relay -w packages/cli -- [--sessions 1,10,50,200] [--runs 3] [--prompts 2] [--max-tokens 64] [--warmup 1000] [--seed 1] [--profile-host DIR]
 *
 * The direct path reads the upstream with the host's own OpenAI-compatible client
 * (@session-jobs/inference), the cheapest faithful reader of the same stream; the hosted path is
 * what a paying user runs (`streamChat`: signed request, SSE, count check, signed receipt).
 */
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { createOpenAICompatibleBackend } from "@session-jobs/inference";
import { streamChat, type Session } from "@session-jobs/sdk";
import { table } from "../src/format.ts";
import { freePort, openUserSession, register, spawnHost, startNetwork, waitReady, writeHostConfig } from "../test/reliability/harness.ts";
import { spawnFakeUpstream } from "./fakeUpstreamProcess.ts";
import { spawnPassThroughRelay } from "./passThroughRelay.ts";
import { processCpuMs, processCpuTimes, processRssBytes } from "./processStats.ts";
import { percentile } from "./stats.ts";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "1,10,50,200" },
    prompts: { type: "string", default: "2" },
    "max-tokens": { type: "string", default: "64" },
    /** Answers each path serves before anything is measured: a host runs for days, and V8 optimizes its hot code only after many calls. */
    warmup: { type: "string", default: "1000" },
    seed: { type: "string", default: "1" },
    /** Each level is measured this many times (both paths each time); every figure printed is the median. */
    runs: { type: "string", default: "3" },
    /** Writes the V8 CPU profiles (node --cpu-prof) of the host process and of the floor relay into this folder when they stop. */
    "profile-host": { type: "string" },
    /** How the sessions' first requests start: all at once ("together"), spread over one answer's time ("staggered"), or both. */
    starts: { type: "string", default: "together,staggered" },
    /**
     * How often the host polls the chain (config `chain.pollingIntervalMs`); default the production
     * default (1 s). The demo and the tests poll anvil every 50 ms, ~0.1 s of the host's CPU a second.
     */
    "chain-polling-ms": { type: "string" },
  },
});
const levels = values.sessions.split(",").map(Number);
const promptsPerSession = Number(values.prompts);
const maxTokens = Number(values["max-tokens"]);
const seed = Number(values.seed);
const runs = Number(values.runs);
const warmupAnswers = Number(values.warmup);
const startModes = values.starts.split(",");
for (const mode of startModes)
  if (mode !== "together" && mode !== "staggered") throw new Error(`--starts takes together, staggered or both (comma-separated), not ${JSON.stringify(mode)}`);
/** One answer's expected duration at the fake upstream's pacing (40 ms, then 10–20 ms a token): the staggered starts' spread. */
const answerMs = 40 + 15 * maxTokens;
for (const [name, value] of [
  ...levels.map((level) => ["sessions", level] as const),
  ["prompts", promptsPerSession],
  ["max-tokens", maxTokens],
  ["seed", seed],
  ["runs", runs],
  ["warmup", warmupAnswers],
] as const)
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`--${name} takes positive integers (--sessions a comma-separated list), not ${JSON.stringify(value)}`);

const prompts = ["In the beginning", "And God said", "Let there be light", "And the earth was without form"];

/** What the client saw of one level on one path. */
type Measured = {
  seconds: number;
  tokens: number;
  ttft: number[];
  /** The TTFT of each session's first request only: in a herd, these are the requests that queue behind each other's set-up. */
  firstTtft: number[];
  gaps: number[];
  errors: number;
  /**
   * How long after the timed window the answers' `result`s all settled (hosted path: a stream ends
   * once its exchange is accepted and its receipt is delivered in the background, so the last
   * receipts may still be on their way; they are waited for, and their host CPU counted, before
   * anything else is measured).
   */
  settleMs: number;
};

/** One answer as a path gives it: its deltas, and (hosted) its `result`, settled once the receipt's delivery was tried. */
type Answer = AsyncIterable<string> & { result?: Promise<unknown> };

const oneLine = (error: unknown): string =>
  [error, (error as { cause?: unknown }).cause]
    .filter(Boolean)
    .map((value) => (value as Error).message?.split("\n")[0] ?? String(value))
    .join(": ");

/**
 * Runs `sessions` concurrent workers, each `promptsPerSession` answers in turn, timing every delta;
 * worker i sends its first request `i × spreadMs / sessions` after the start.
 */
async function measure(sessions: number, answer: (worker: number, prompt: string) => Answer, spreadMs = 0): Promise<Measured> {
  const measured: Measured = { seconds: 0, tokens: 0, ttft: [], firstTtft: [], gaps: [], errors: 0, settleMs: 0 };
  const results: Promise<unknown>[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: sessions }, async (_, worker) => {
      if (spreadMs > 0) await new Promise((resolve) => setTimeout(resolve, (worker * spreadMs) / sessions));
      for (let p = 0; p < promptsPerSession; p++) {
        const sent = performance.now();
        let last: number | undefined;
        const stream = answer(worker, prompts[(worker + p) % prompts.length]!);
        if (stream.result) results.push(stream.result);
        try {
          for await (const _delta of stream) {
            const at = performance.now();
            if (last === undefined) {
              measured.ttft.push(at - sent);
              if (p === 0) measured.firstTtft.push(at - sent);
            } else measured.gaps.push(at - last);
            last = at;
            measured.tokens += 1;
          }
        } catch (error) {
          measured.errors += 1;
          if (measured.errors === 1) console.error(`  first error (${sessions} sessions): ${oneLine(error)}`);
        }
      }
    }),
  );
  const ended = performance.now();
  measured.seconds = (ended - started) / 1000;
  // A stream that failed was counted; a result that fails after its stream ended (its receipt refused) is counted here.
  const failed = (await Promise.allSettled(results)).filter((outcome) => outcome.status === "rejected").length;
  measured.errors = Math.max(measured.errors, failed);
  measured.settleMs = performance.now() - ended;
  for (const list of [measured.ttft, measured.firstTtft, measured.gaps]) list.sort((a, b) => a - b);
  return measured;
}

// Stopped in reverse order whatever happens, so a failed start leaves no anvil or host behind.
const cleanups: (() => unknown)[] = [];
try {
  const upstream = await spawnFakeUpstream({ seed, maxTokens });
  cleanups.push(() => upstream.stop());
  const network = await startNetwork();
  cleanups.push(() => network.anvil.stop());
  const port = await freePort();
  // Every bench client connects from 127.0.0.1: the per-address cap (production default 64) is
  // raised here, for the bench only, so that 200 sessions (each with a receipt in flight) fit.
  const connectionCap = 4 * Math.max(...levels) + 64;
  const hostFiles = writeHostConfig(network, port, {
    backend: { type: "upstream", url: upstream.baseUrl, model: upstream.model },
    server: { maxConnections: connectionCap, maxConnectionsPerAddress: connectionCap },
    // A host as deployed: the demo's 50 ms polling of anvil would compete with every herd.
    chain: values["chain-polling-ms"] === undefined ? {} : { pollingIntervalMs: Number(values["chain-polling-ms"]) },
  });
  cleanups.push(() => hostFiles.cleanup());
  await register(hostFiles.input);
  const profile = values["profile-host"] ? ["--cpu-prof", `--cpu-prof-dir=${values["profile-host"]}`] : [];
  const host = spawnHost(hostFiles.path, { nodeArgs: profile });
  cleanups.push(() => host.sigint());
  const direct = createOpenAICompatibleBackend({ baseUrl: upstream.baseUrl, model: upstream.model, maxRetries: 0 });
  cleanups.push(() => direct.close());
  const floorRelay = await spawnPassThroughRelay(upstream.baseUrl, profile);
  cleanups.push(() => floorRelay.stop());
  const viaFloorClient = createOpenAICompatibleBackend({ baseUrl: floorRelay.announced.baseUrl, model: upstream.model, maxRetries: 0 });
  cleanups.push(() => viaFloorClient.close());
  const floorPid = floorRelay.child.pid!;
  await waitReady(`http://127.0.0.1:${port}`, 180_000, host.child).catch((error: unknown) => {
    console.error(host.output());
    throw error;
  });
  const pid = host.child.pid!;
  const sessions: Session[] = [];
  const opening = performance.now();
  while (sessions.length < Math.max(...levels)) sessions.push(await openUserSession(network, 1000n));
  console.log(
    `opened ${sessions.length} sessions in ${((performance.now() - opening) / 1000).toFixed(1)} s; host pid ${pid}, polling the chain every ${values["chain-polling-ms"] ?? "1000 (default)"} ms`,
  );

  /** Reads the deltas of `client` (the upstream itself, or the floor relay in front of it). */
  const deltasOf = (client: typeof direct) => (_worker: number, prompt: string) =>
    (async function* () {
      for await (const part of client.stream({ messages: [{ role: "user", content: prompt }], maxTokens })) if (part.type === "text-delta") yield part.text;
    })();
  const viaDirect = deltasOf(direct);
  const viaFloor = deltasOf(viaFloorClient);
  const viaHost = (worker: number, prompt: string) => streamChat(sessions[worker]!, { messages: [{ role: "user", content: prompt }], maxTokens });
  // Warm every path (JIT, connections) before anything is measured, with the same answers each,
  // and every session: the host reads a session from the chain the first time it serves it, a
  // one-time cost per session that is not the relay's steady state (its periodic re-reads,
  // limits.sessionCacheMs, are measured). A host's hot code is optimized by V8 only after many
  // calls: one round of the sessions left most of it cold in the measured runs (per answer, the
  // host's CPU fell by ~30 % over its first ~1,000 answers).
  const warming = performance.now();
  const warmupRounds = Math.ceil(warmupAnswers / (sessions.length * promptsPerSession));
  for (let round = 0; round < warmupRounds; round++) for (const path of [viaDirect, viaFloor, viaHost]) await measure(sessions.length, path);
  console.log(`warmed each path with ${warmupRounds * sessions.length * promptsPerSession} answers in ${((performance.now() - warming) / 1000).toFixed(1)} s`);

  const [idleCpu, floorIdleCpu] = [processCpuMs(pid), processCpuMs(floorPid)];
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const idleCpuMsPerSecond = (processCpuMs(pid) - idleCpu) / 2;
  const floorIdleCpuMsPerSecond = (processCpuMs(floorPid) - floorIdleCpu) / 2;

  /**
   * The host's event-loop delay since the last call, in ms, from its /metrics (prom-client resets
   * the histogram on every scrape): what blocked every session at once, such as a synchronous commit.
   */
  const eventLoopDelay = async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1]);
    const read = (name: string) => value(`session_jobs_host_nodejs_eventloop_lag_${name}_seconds`) * 1000;
    // The store's commits so far and the writes they carried (SQLite groups the writes of one event-loop turn).
    return {
      p99: read("p99"),
      max: read("max"),
      commits: value("session_jobs_store_commits_total"),
      writes: value("session_jobs_store_committed_writes_total"),
    };
  };
  type Figures = {
    ratio: number;
    direct: Measured;
    hosted: Measured;
    hostCpuMs: number;
    floor: Measured;
    floorCpuMs: number;
    /** The share of each relay's CPU spent in the kernel (system calls: socket reads and writes, epoll, fsync), not in Node. */
    kernelShare: { host: number; floor: number };
    /** This process's CPU on each path: the direct reader's, and the SDK's (plus the same loop's) via the host. */
    clientCpuMs: { direct: number; hosted: number };
    peakRss: number;
    delay: { p99: number; max: number };
    /** Writes per SQLite commit over the hosted run. */
    writesPerCommit: number;
  };
  const rows: string[][] = [];
  const ms = (value: number) => value.toFixed(1);
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
  for (const [level, mode] of levels.flatMap((level) => startModes.map((mode) => [level, mode] as const))) {
    const spreadMs = mode === "staggered" ? answerMs : 0;
    const figures: Figures[] = [];
    for (let run = 0; run < runs; run++) {
      const directCpuBefore = process.cpuUsage();
      const direct = await measure(level, viaDirect, spreadMs);
      const directCpu = process.cpuUsage(directCpuBefore);
      const floorCpuBefore = processCpuTimes(floorPid);
      const floor = await measure(level, viaFloor, spreadMs);
      const floorCpuAfter = processCpuTimes(floorPid);
      const floorCpuMs = floorCpuAfter.totalMs - floorCpuBefore.totalMs - floorIdleCpuMsPerSecond * floor.seconds;
      const cpuBefore = processCpuTimes(pid);
      const clientCpuBefore = process.cpuUsage();
      let peakRss = processRssBytes(pid);
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, processRssBytes(pid))), 100);
      const before = await eventLoopDelay();
      const hosted = await measure(level, viaHost, spreadMs);
      const delay = await eventLoopDelay();
      clearInterval(sampler);
      const clientCpu = process.cpuUsage(clientCpuBefore);
      const cpuAfter = processCpuTimes(pid);
      figures.push({
        ratio: hosted.tokens / hosted.seconds / (direct.tokens / direct.seconds),
        direct,
        hosted,
        hostCpuMs: cpuAfter.totalMs - cpuBefore.totalMs,
        floor,
        floorCpuMs,
        kernelShare: {
          host: (cpuAfter.systemMs - cpuBefore.systemMs) / (cpuAfter.totalMs - cpuBefore.totalMs),
          floor: (floorCpuAfter.systemMs - floorCpuBefore.systemMs) / (floorCpuAfter.totalMs - floorCpuBefore.totalMs),
        },
        clientCpuMs: { direct: (directCpu.user + directCpu.system) / 1000, hosted: (clientCpu.user + clientCpu.system) / 1000 },
        peakRss,
        delay,
        writesPerCommit: (delay.writes - before.writes) / (delay.commits - before.commits),
      });
    }
    /** The median over the runs of one figure. */
    const m = (figure: (run: Figures) => number) => median(figures.map(figure));
    const pair = (figure: (measured: Measured) => number) => `${ms(m((run) => figure(run.direct)))} → ${ms(m((run) => figure(run.hosted)))}`;
    const perThousand = (cpuMs: (run: Figures) => number, tokens = (run: Figures) => run.hosted.tokens) =>
      m((run) => (cpuMs(run) / tokens(run)) * 1000).toFixed(0);
    const hostLessIdle = (run: Figures) => run.hostCpuMs - idleCpuMsPerSecond * run.hosted.seconds;
    rows.push([
      String(level),
      mode,
      m((run) => run.ratio).toFixed(3),
      `${m((run) => run.direct.tokens / run.direct.seconds).toFixed(0)} / ${m((run) => run.hosted.tokens / run.hosted.seconds).toFixed(0)}`,
      pair((run) => percentile(run.ttft, 50)),
      m((run) => percentile(run.hosted.ttft, 50) - percentile(run.direct.ttft, 50)).toFixed(1),
      m((run) => percentile(run.hosted.firstTtft, 50) - percentile(run.direct.firstTtft, 50)).toFixed(1),
      pair((run) => percentile(run.ttft, 99)),
      pair((run) => percentile(run.gaps, 50)),
      pair((run) => percentile(run.gaps, 99)),
      perThousand((run) => run.hostCpuMs),
      perThousand(hostLessIdle),
      perThousand(
        (run) => run.floorCpuMs,
        (run) => run.floor.tokens,
      ),
      m((run) => hostLessIdle(run) / run.hosted.tokens / (run.floorCpuMs / run.floor.tokens)).toFixed(1),
      `${(m((run) => run.kernelShare.host) * 100).toFixed(0)}% / ${(m((run) => run.kernelShare.floor) * 100).toFixed(0)}%`,
      `${perThousand(
        (run) => run.clientCpuMs.direct,
        (run) => run.direct.tokens,
      )} → ${perThousand((run) => run.clientCpuMs.hosted)}`,
      (m((run) => run.peakRss) / 2 ** 20).toFixed(0),
      `${ms(m((run) => run.delay.p99))} / ${ms(m((run) => run.delay.max))}`,
      m((run) => run.writesPerCommit).toFixed(1),
      ms(m((run) => run.hosted.settleMs)),
      String(figures.reduce((sum, run) => sum + run.direct.errors + run.floor.errors + run.hosted.errors, 0)),
    ]);
  }
  console.log(
    `\nrelay: ${promptsPerSession} answers of ${maxTokens} tokens per session, fake upstream 40 ms + 10–20 ms/token (seed ${seed}); medians of ${runs} runs`,
  );
  console.log(
    table([
      [
        "sessions",
        "first requests",
        "ratio host/direct",
        "tokens/s direct / host",
        "TTFT p50 ms",
        "TTFT overhead p50 ms",
        "first requests' TTFT overhead p50 ms",
        "TTFT p99 ms",
        "gap p50 ms",
        "gap p99 ms",
        "host CPU ms / 1k tokens",
        "less idle",
        "floor CPU ms / 1k",
        "host / floor",
        "in kernel host / floor",
        "client CPU ms / 1k direct → host",
        "host RSS MiB",
        "host event-loop delay p99 / max ms",
        "store writes / commit",
        "last receipts settled after ms",
        "errors",
      ],
      ...rows,
    ]),
  );
  console.log(
    `(direct → via host. CPU and RSS are the host process's, from /proc; it idles at ${idleCpuMsPerSecond.toFixed(0)} CPU ms/s (chain polling): "less idle" takes that out.`,
  );
  console.log(
    " TTFT is timed from the request's call to its first delta; \"first requests'\" takes each session's first request only (in a herd, those that queue behind each other's set-up).",
  );
  console.log(
    " A hosted answer ends once its exchange is accepted (counts and transcript checked, receipt signed); its receipt is delivered in the background, the next request not waiting for it. The level's time ends with the last answer; the receipts still on their way are waited for after it (\"last receipts settled after\"), and the host's CPU for them is counted.",
  );
  console.log(
    " The floor is a bare node:http pass-through relay (bench/passThroughRelay.ts, its own process, one res.write per upstream read) read by the direct client: host / floor is the host's CPU per token (less idle) over the floor's;",
  );
  console.log(
    ' "in kernel" is the share of each one\'s CPU spent in system calls (socket reads and writes, epoll, fsync): what a relay making a read and a write per token pays whatever its code.',
  );
  console.log(
    " Client CPU is this process's on each path: the direct reader's, then the SDK's (signing, SSE, count checks, receipts). The upstream runs in a process",
  );
  console.log(
    ` of its own. Ratios are the comparable figures on a shared machine; load average now ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores.)`,
  );
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
}
