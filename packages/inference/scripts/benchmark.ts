/**
 * Measures the embedded model: load time, first-token latency, tokens/s for one stream and for
 * several concurrent streams, peak RSS.
 *
 *     npm run bench -w packages/inference -- [--threads 1] [--concurrent 4] [--rounds 3]
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { createEmbeddedBackend, embeddedModelInfo, type ChatBackend, type ChatRequest } from "../src/index.ts";

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "1" },
    concurrent: { type: "string", default: "4" },
    rounds: { type: "string", default: "3" },
  },
});
const threads = Number(values.threads);
const concurrent = Number(values.concurrent);
const rounds = Number(values.rounds);
const prompts = ["Genesis 1:1", "John 3:16", "And the LORD said unto Moses,", "Blessed are the", "Psalms 23:1", "In the beginning"];
const request = (i: number): ChatRequest => ({
  messages: [{ role: "user", content: prompts[i % prompts.length]! }],
  temperature: 0.8,
  seed: i,
  maxTokens: 200,
});

/** Streams one request; returns its first-token latency, tokens and duration in milliseconds. */
async function timedStream(backend: ChatBackend, i: number): Promise<{ firstTokenMs: number; tokens: number; ms: number }> {
  const start = performance.now();
  let firstTokenMs = Number.NaN;
  for await (const part of backend.stream(request(i))) {
    if (part.type === "text-delta" && Number.isNaN(firstTokenMs)) firstTokenMs = performance.now() - start;
    if (part.type === "error") throw part.error;
    if (part.type === "finish") return { firstTokenMs, tokens: part.usage.completionTokens, ms: performance.now() - start };
  }
  throw new Error("stream ended without finishing");
}

const loadStart = performance.now();
const backend = await createEmbeddedBackend({ threads, maxConcurrent: concurrent });
const loadMs = performance.now() - loadStart;
await timedStream(backend, 0); // warm-up

const single = [];
for (let i = 0; i < rounds * prompts.length; i++) single.push(await timedStream(backend, i));
const singleTokens = single.reduce((n, r) => n + r.tokens, 0);
const singleMs = single.reduce((n, r) => n + r.ms, 0);
const firstTokenMs = single.map((r) => r.firstTokenMs).sort((a, b) => a - b);

let concurrentTokens = 0;
const concurrentStart = performance.now();
const concurrentFirst: number[] = [];
for (let round = 0; round < rounds; round++) {
  const results = await Promise.all(Array.from({ length: concurrent }, (_, i) => timedStream(backend, round * concurrent + i)));
  for (const r of results) {
    concurrentTokens += r.tokens;
    concurrentFirst.push(r.firstTokenMs);
  }
}
const concurrentMs = performance.now() - concurrentStart;
await backend.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: Array<[string, string]> = [
  ["model", `${embeddedModelInfo.fileName} (sha256 ${embeddedModelInfo.sha256.slice(0, 12)}…)`],
  ["machine", `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`],
  ["threads", String(threads)],
  ["load time (getLlama + model + context)", `${loadMs.toFixed(0)} ms`],
  ["first-token latency, one stream (median / max)", `${median(firstTokenMs).toFixed(1)} / ${firstTokenMs.at(-1)!.toFixed(1)} ms`],
  ["tokens/s, one stream", `${((singleTokens / singleMs) * 1000).toFixed(0)} (${singleTokens} tokens)`],
  [`first-token latency, ${concurrent} concurrent (median)`, `${median(concurrentFirst).toFixed(1)} ms`],
  [`tokens/s, ${concurrent} concurrent (total)`, `${((concurrentTokens / concurrentMs) * 1000).toFixed(0)} (${concurrentTokens} tokens)`],
  ["peak RSS", `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`],
];
const width = Math.max(...rows.map(([k]) => k.length));
for (const [key, value] of rows) console.log(`${key.padEnd(width)}  ${value}`);
