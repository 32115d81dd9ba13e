import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { parseEventLogs, type Hex, type PublicClient } from "viem";
import { createCommon, createHostNode, registerHost, resolveHostConfig, type HostConfig, type HostConfigInput, type HostNode } from "@session-jobs/host";
import { createEmbeddedBackend, type ChatBackend } from "@session-jobs/inference";
import { jobMarketplaceWithModelsAbi, openSession, sessionEndpoints, signSessionRequestHeaders, type Session } from "@session-jobs/sdk";
import { privateKeyToAccount } from "viem/accounts";
import { createLogger, type Common } from "../../src/common.ts";
import { createGasLedger } from "../../src/gasLedger.ts";
import { startLocalNetwork, demoKeys, walletFor, type LocalNetwork } from "../../src/demo/localNetwork.ts";
import { demoHostConfigInput } from "../../src/demo/demoHost.ts";
import type { SessionView } from "@session-jobs/host";
import { spawnCli } from "../spawnCli.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../../..");

export const silentCommon = (): Common => {
  const silent = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  return { env: process.env, logger: createLogger(silent, silent), signal: new AbortController().signal, debug: false };
};

/** Anvil + deployed contracts + the embedded model approved (no host yet). */
export async function startNetwork(): Promise<LocalNetwork> {
  return startLocalNetwork(silentCommon(), createGasLedger());
}

/** A port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** The host config (file form, without the key) for a host on `port` with its database in `dir`. */
export function hostConfigInput(network: LocalNetwork, dir: string, port: number, extra: HostConfigInput = {}): HostConfigInput {
  return demoHostConfigInput(network, {
    publicUrl: `http://127.0.0.1:${port}`,
    dbPath: join(dir, "host.sqlite"),
    // Tests on other anvils run the same demo key at the same time: each keeps its lock to itself.
    lockDir: dir,
    ...extra,
    server: { ...extra.server, host: "127.0.0.1", port },
  });
}

/** Registers the host key at the config's public URL. */
export async function register(input: HostConfigInput): Promise<HostConfig> {
  const config = resolveHostConfig({ ...input, privateKey: demoKeys.host });
  await registerHost({ config });
  return config;
}

export async function waitReady(url: string, timeoutMs = 45_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`host process exited with ${child.exitCode} before it was ready`);
    try {
      const response = await fetch(`${url}/ready`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`host at ${url} not ready after ${timeoutMs} ms`);
}

/** `session-jobs host start --config <file>` as a separate OS process (one node process, no npx/tsx wrapper, so SIGKILL hits it). */
export type HostProcess = {
  child: ChildProcess;
  output: () => string;
  kill9: () => Promise<void>;
  /** Sends `signal` and resolves with the exit code once the process has exited. */
  signal: (signal: NodeJS.Signals) => Promise<number | null>;
  sigint: () => Promise<number | null>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
};

export function spawnHost(configPath: string, options: { nodeArgs?: string[]; env?: Record<string, string> } = {}): HostProcess {
  const child = spawnCli(["host", "start", "--config", configPath, "--log-level", "info"], {
    nodeArgs: options.nodeArgs,
    cwd: repoRoot,
    env: { ...process.env, SESSION_JOBS_HOST_PRIVATE_KEY: demoKeys.host, CI: "true", ...options.env },
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += String(chunk)));
  child.stderr.on("data", (chunk) => (output += String(chunk)));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    child,
    output: () => output,
    kill9: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    signal: async (signal) => {
      child.kill(signal);
      return exited;
    },
    sigint: async () => {
      child.kill("SIGINT");
      return exited;
    },
    exited,
  };
}

/** A temporary directory with a JSON host config in it. */
export function writeHostConfig(network: LocalNetwork, port: number, extra: HostConfigInput = {}) {
  const dir = mkdtempSync(join(tmpdir(), "session-jobs-reliability-"));
  const input = hostConfigInput(network, dir, port, extra);
  const path = join(dir, "host.json");
  writeFileSync(path, JSON.stringify(input, null, 2));
  return { dir, path, input, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Options of `startInProcessHost`. */
export type InProcessHostOptions = { extra?: HostConfigInput; now?: () => number; submitterTickMs?: number; backend?: ChatBackend };
export type InProcessHost = { node: HostNode; backend: ChatBackend; url: string; stop: () => Promise<void> };

/** An in-process host node (the caller can move its clock). */
export async function startInProcessHost(network: LocalNetwork, options: InProcessHostOptions = {}): Promise<InProcessHost> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "session-jobs-reliability-"));
  const config = await register(hostConfigInput(network, dir, port, options.extra));
  const backend = options.backend ?? (await createEmbeddedBackend());
  const node = createHostNode({
    common: createCommon({ logLevel: (process.env.RELIABILITY_LOG_LEVEL as "error" | undefined) ?? "error" }),
    config,
    backend,
    now: options.now,
    submitterTickMs: options.submitterTickMs,
  });
  const url = await node.start();
  return {
    node,
    backend,
    url,
    stop: async () => {
      await node.stop();
      if (!options.backend) await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What the host reports at `GET /v1/session/:jobId`: the wire format, typed by the host package. */
export type HostSessionView = SessionView;

export async function hostView(url: string, jobId: bigint): Promise<HostSessionView> {
  const response = await fetch(`${url}/v1/session/${jobId}`);
  if (response.status !== 200) throw new Error(`GET /v1/session/${jobId}: ${response.status} ${await response.text()}`);
  return (await response.json()) as HostSessionView;
}

/**
 * A client that chats but never signs a receipt: each request is signed (as it must be to be
 * served) and builds on the transcript the host answered with last. Returns the status, the error
 * code and the tokens the host billed for the exchange.
 */
export function neverSigningClient(url: string, session: Session) {
  let sequence = 0n;
  let transcriptHash = session.transcriptHash;
  const account = privateKeyToAccount(session.sessionKey);
  return async (content: string, maxTokens: number): Promise<{ status: number; code?: string; billed: number }> => {
    const body = new TextEncoder().encode(JSON.stringify({ messages: [{ role: "user", content }], max_tokens: maxTokens }));
    sequence += 1n;
    const headers = await signSessionRequestHeaders(account, session, {
      jobId: session.jobId,
      sequence,
      transcriptHash,
      endpoint: sessionEndpoints.chat,
      body,
    });
    const response = await fetch(`${url}${sessionEndpoints.chat}`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
    const json = (await response.json()) as { error?: { code: string }; session?: { transcriptHash: Hex; promptTokens: number; completionTokens: number } };
    if (json.session) transcriptHash = json.session.transcriptHash;
    return { status: response.status, code: json.error?.code, billed: json.session ? json.session.promptTokens + json.session.completionTokens : 0 };
  };
}

/** Every ProofSubmitted event of a job. */
/**
 * Reads a streamed answer and breaks it off (`breakOff`: abort, cut the network…) at the
 * `after`-th delta; `onDelta` sees each delta's count first. Throws unless the stream then fails.
 */
export async function breakOffStream(
  stream: AsyncIterable<string>,
  after: number,
  breakOff: () => void,
  onDelta?: (count: number) => void,
): Promise<{ received: string; deltas: number }> {
  let received = "";
  let deltas = 0;
  try {
    for await (const delta of stream) {
      received += delta;
      deltas += 1;
      onDelta?.(deltas);
      if (deltas === after) breakOff();
    }
  } catch {
    return { received, deltas };
  }
  throw new Error(`the stream ended after ${deltas} deltas instead of breaking off`);
}

/** Waits (bounded) until the host has recorded an aborted exchange as the session's last, and returns its view. */
export async function waitForAbortedExchange(url: string, jobId: bigint): Promise<HostSessionView> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const view = await hostView(url, jobId);
    if (view.lastExchange?.aborted === true) return view;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the host recorded no aborted exchange for session ${jobId} within 5 s`);
}

export async function proofEvents(client: PublicClient, marketplace: Hex, jobId: bigint) {
  const logs = await client.getLogs({ address: marketplace, fromBlock: 0n, toBlock: "latest" });
  return parseEventLogs({ abi: jobMarketplaceWithModelsAbi, logs, eventName: "ProofSubmitted" }).filter((log) => log.args.jobId === jobId);
}

/**
 * An HTTP JSON-RPC proxy on loopback that counts the methods it forwards (batches included). A
 * request that calls a method in `failing` is answered with an HTTP 503 instead (an RPC that cannot serve it).
 */
export async function startCountingRpcProxy(
  target: string,
): Promise<{ url: string; count: (method: string) => number; failing: Set<string>; close: () => Promise<void> }> {
  const counts = new Map<string, number>();
  const failing = new Set<string>();
  const server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    // Everything that can fail is inside the try, which destroys the response; nothing is left to reject.
    const forward = async () => {
      const body = Buffer.concat(chunks);
      try {
        const parsed = JSON.parse(body.toString("utf8")) as { method?: string } | { method?: string }[];
        const calls = Array.isArray(parsed) ? parsed : [parsed];
        for (const call of calls) counts.set(String(call.method), (counts.get(String(call.method)) ?? 0) + 1);
        if (calls.some((call) => failing.has(String(call.method)))) {
          response.writeHead(503).end();
          return;
        }
        const answer = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });
        response.writeHead(answer.status, { "content-type": "application/json" });
        response.end(Buffer.from(await answer.arrayBuffer()));
      } catch {
        response.destroy();
      }
    };
    request.on("end", () => void forward());
  });
  await new Promise<void>((resolveListen) => server.listen(0, "127.0.0.1", resolveListen));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    count: (method) => counts.get(method) ?? 0,
    failing,
    close: () =>
      new Promise((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}

/** A raw JSON-RPC call to anvil (test methods viem's public client does not expose). */
export async function anvilRpc(network: Pick<LocalNetwork, "anvil">, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(network.anvil.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const json = (await response.json()) as { result?: unknown; error?: unknown };
  if (json.error) throw new Error(`${method}: ${JSON.stringify(json.error)}`);
  return json.result;
}

/** Waits (bounded) until the host at `url` has read the chain up to its head (its settlement watch, which keeps its chain clock). */
export async function untilHostSeesHead(network: Pick<LocalNetwork, "publicClient">, url: string): Promise<void> {
  const head = await network.publicClient.getBlockNumber();
  for (let attempt = 0; attempt < 200; attempt++) {
    const watched = /^session_jobs_settlement_watch_block (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1];
    if (watched !== undefined && BigInt(watched) >= head) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the host at ${url} did not read block ${head} within 10 s`);
}

/** Moves anvil's clock forward and mines a block on it. */
export async function timeTravel(network: Pick<LocalNetwork, "anvil">, seconds: number): Promise<void> {
  await anvilRpc(network, "evm_increaseTime", [seconds]);
  await anvilRpc(network, "evm_mine", []);
}

/** Opens a session of the demo user with the demo host: 0.01 (USDC) deposit, one day, the embedded model. */
export async function openUserSession(network: LocalNetwork, proofInterval: bigint): Promise<Session> {
  const { session } = await openSession(walletFor(network, demoKeys.user), {
    contracts: network.deployment,
    host: privateKeyToAccount(demoKeys.host).address,
    deposit: 10n ** 16n,
    proofInterval,
    maxDuration: 86_400n,
    modelId: network.modelId,
  });
  return session;
}

/**
 * Records the text deltas every stream of `inner` yields, so that a test can tell how many deltas
 * the host wrote for an answer it recovered: the shortest run of one stream's deltas that spells it.
 */
export function recordingBackend(inner: ChatBackend): { backend: ChatBackend; deltasSpelling(text: string): number | undefined } {
  const streams: string[][] = [];
  const backend: ChatBackend = {
    specificationVersion: inner.specificationVersion,
    provider: inner.provider,
    modelId: inner.modelId,
    generate: (request, options) => inner.generate(request, options),
    async *stream(request, options) {
      const deltas: string[] = [];
      streams.push(deltas);
      for await (const part of inner.stream(request, options)) {
        if (part.type === "text-delta") deltas.push(part.text);
        yield part;
      }
    },
    close: () => inner.close(),
  };
  return {
    backend,
    deltasSpelling(text) {
      for (const deltas of [...streams].reverse()) {
        let spelled = "";
        for (let count = 0; count <= deltas.length; count++) {
          if (spelled === text) return count;
          if (count < deltas.length) spelled += deltas[count];
        }
      }
      return undefined;
    },
  };
}

export { pacedBackend } from "@session-jobs/inference";
