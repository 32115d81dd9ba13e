/**
 * Load benchmark: N concurrent sessions (default 50) on one host node with the embedded model,
 * each a few prompts, all settled exactly. Prints throughput and p50/p99 latency.
 *
 *   npm run bench:load -w packages/cli -- [--sessions 50] [--prompts 3] [--max-tokens 32]
 *
 * Sessions are opened one after another (one user wallet, one nonce sequence), then all chat at
 * once, then all close at once (the host settles each through its single transaction queue).
 * Exits non-zero if any session did not settle to exactly the tokens its receipts cover.
 */
import { parseArgs } from "node:util";
import { privateKeyToAccount } from "viem/accounts";
import { chat, closeSession, openSession, type Session } from "@session-jobs/sdk";
import { demoKeys, walletFor } from "../../src/demo/localNetwork.ts";
import { startInProcessHost, startNetwork } from "./harness.ts";
import { percentile } from "../../bench/stats.ts";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: process.env.LOAD_SESSIONS ?? "50" },
    prompts: { type: "string", default: process.env.LOAD_PROMPTS ?? "3" },
    "max-tokens": { type: "string", default: process.env.LOAD_MAX_TOKENS ?? "32" },
  },
});
const sessionsCount = Number(values.sessions);
const promptsPerSession = Number(values.prompts);
const maxTokens = Number(values["max-tokens"]);
for (const [name, value] of [
  ["sessions", sessionsCount],
  ["prompts", promptsPerSession],
  ["max-tokens", maxTokens],
] as const)
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);

const prompts = ["Genesis 1:1", "And God said", "In the beginning", "And the earth was", "Let there be light", "The LORD is my shepherd"];
const ms = (value: number) => `${value.toFixed(0)} ms`;

const network = await startNetwork();
const host = await startInProcessHost(network);
let failures: number;
try {
  const user = walletFor(network, demoKeys.user);
  const hostAddress = privateKeyToAccount(demoKeys.host).address;
  const openStarted = performance.now();
  const sessions: Session[] = [];
  for (let i = 0; i < sessionsCount; i++) {
    const { session } = await openSession(user, {
      contracts: network.deployment,
      host: hostAddress,
      deposit: 10n ** 16n,
      proofInterval: 100n,
      maxDuration: 86_400n,
      modelId: network.modelId,
    });
    sessions.push(session);
  }
  const openSeconds = (performance.now() - openStarted) / 1000;

  const latencies: number[] = [];
  let tokens = 0n;
  const errors: unknown[] = [];
  const loadStarted = performance.now();
  await Promise.all(
    sessions.map(async (session, index) => {
      for (let p = 0; p < promptsPerSession; p++) {
        const started = performance.now();
        try {
          const result = await chat(session, { messages: [{ role: "user", content: prompts[(index + p) % prompts.length]! }], maxTokens });
          latencies.push(performance.now() - started);
          tokens += BigInt(result.promptTokens + result.completionTokens);
        } catch (error) {
          errors.push(error);
          return;
        }
      }
    }),
  );
  const loadSeconds = (performance.now() - loadStarted) / 1000;

  const closeStarted = performance.now();
  const settlements = await Promise.all(sessions.map((session) => closeSession(user, { session }).then((settlement) => ({ session, settlement }))));
  const closeSeconds = (performance.now() - closeStarted) / 1000;
  let exact = 0;
  for (const { session, settlement } of settlements) {
    const ok =
      settlement.provenTokens === session.cumulativeTokens &&
      settlement.payment === session.cumulativeTokens * session.pricePerToken &&
      settlement.refund === session.deposit - settlement.payment;
    if (ok) exact++;
    else console.error(`session ${session.jobId}: signed ${session.cumulativeTokens}, proven ${settlement.provenTokens}, closed by ${settlement.closedBy}`);
  }
  failures = errors.length + (sessions.length - exact);

  latencies.sort((a, b) => a - b);
  const requests = latencies.length;
  console.log(`load: ${sessionsCount} concurrent sessions x ${promptsPerSession} prompts (max_tokens ${maxTokens}), one host, embedded model`);
  console.log(`  open (sequential):   ${sessionsCount} sessions in ${openSeconds.toFixed(1)} s`);
  console.log(
    `  chat (concurrent):   ${requests} requests, ${tokens} tokens in ${loadSeconds.toFixed(1)} s = ${(requests / loadSeconds).toFixed(1)} req/s, ${(Number(tokens) / loadSeconds).toFixed(0)} tokens/s`,
  );
  if (requests > 0)
    console.log(
      `  latency per request: p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, max ${ms(latencies[latencies.length - 1]!)}`,
    );
  console.log(
    `  close (concurrent):  ${sessionsCount} sessions in ${closeSeconds.toFixed(1)} s, ${settlements.filter((s) => s.settlement.closedBy === "host").length} settled by the host`,
  );
  console.log(`  settled exactly:     ${exact}/${sessionsCount}; errors during chat: ${errors.length}`);
  for (const error of errors.slice(0, 3)) console.error(error);
} finally {
  await host.stop();
  await network.anvil.stop();
}
process.exitCode = failures === 0 ? 0 : 1;
