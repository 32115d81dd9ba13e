/**
 * The session protocol over HTTP against an in-memory chain (no anvil): signatures, sequences,
 * the transcript binding, receipts, sync, the overdue and deposit rules, client aborts, error
 * answers and /metrics. The same
 * flows run against real contracts in node.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "viem";
import { emptyTranscriptHash, sessionHeaders, signCheckpoint, type SyncResponse } from "@session-jobs/protocol";
import type { OnChainSession } from "../chain/chainSession.ts";
import { createSessionCache } from "../chain/chainSession.ts";
import { createExposurePolicy } from "./exposure.ts";
import { createCommon } from "../common.ts";
import { metricValue } from "../observability/metrics.ts";
import { createHostRoutes } from "../http/routes.ts";
import { createHttpServer, type HttpServer } from "../http/server.ts";
import { HostError } from "../errors.ts";
import { createSessionProtocol } from "./sessionProtocol.ts";
import { createStore, type SqliteStore as Store } from "../store/sqliteStore.ts";
import type { StoredExchange } from "../store/storeTypes.ts";
import { createReadiness } from "../observability/readiness.ts";
import { createByteBudget } from "../http/byteBudget.ts";
import { createTestBackend, type TestBackend } from "../testUtils/testBackend.ts";
import { createTestClient, parseSse } from "../testUtils/testClient.ts";
import { until } from "../testUtils/promiseState.ts";
import { onChainSessionFields, wallChainClock } from "../testUtils/onChainSession.ts";

const host = privateKeyToAccount(generatePrivateKey());
const domain = { chainId: 31337, marketplace: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address };
const servedModel: Hex = `0x${"11".repeat(32)}`;
// Intervals up to the chain's own maximum: the bytes limit is tested apart from the host's interval limit.
const limits = {
  defaultMaxTokens: 16,
  maxTokens: 512,
  sessionCacheMs: 0,
  promptTokensPerMessage: 8,
  maxUnsignedBytes: 16 * 1024,
  maxSyncBytesInFlight: 32 * 1024,
  maxCheckpointInterval: 1_000_000,
};

const chain = new Map<bigint, OnChainSession>();
let nextJobId = 1n;
let backend: TestBackend;
let store: Store;
let server: HttpServer;
let url: string;
const common = createCommon({ logLevel: "silent" });
const settled: bigint[] = [];
/** The settlement of the next close fails (the chain unreachable) when set. */
let failNextSettle = false;
/** While set, the store's group commits wait here until the test runs them (instead of at the end of their turn of the event loop). */
let heldFlushes: (() => void)[] | undefined;
/** Moves the store's clock forward (leases); sessions' own times stay on the chain's (the wall clock here). */
let clockOffsetMs = 0;
const closingLeaseMs = 60_000;

const zeroAddress: Address = "0x0000000000000000000000000000000000000000";
/** The signers asked about with `eth_getCode` (isContract); a read fails while `codeReadsFail` is set. */
const codeReads: Address[] = [];
let codeReadsFail = false;
/** What the protocol asked of the store since the last `storeCalls.clear()`, by method. */
const storeCalls = new Map<string, number>();

/** The next sequence claim fails with this storage fault when set (a disk error at its COMMIT). */
let claimFault: HostError | undefined;

/** The store as the protocol sees it: every method call counted in {@link storeCalls}. */
function countingStore(target: Store): Store {
  return new Proxy(target, {
    get(object, key, receiver) {
      const value: unknown = Reflect.get(object, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        storeCalls.set(String(key), (storeCalls.get(String(key)) ?? 0) + 1);
        if (key === "claimSequence" && claimFault) {
          const fault = claimFault;
          claimFault = undefined;
          return Promise.reject(fault);
        }
        return (value as (...args: unknown[]) => unknown).apply(object, args);
      };
    },
  });
}

/** What `getSession` returns for an id that was never created. */
function nonexistent(jobId: bigint): OnChainSession {
  return { ...sessionFields(zeroAddress), jobId, host: zeroAddress, status: "none" };
}

function sessionFields(signer: Address) {
  return onChainSessionFields({ host: host.address, signer, modelId: servedModel });
}

function openSession(overrides: Partial<OnChainSession> = {}) {
  const jobId = nextJobId++;
  const sessionKey = privateKeyToAccount(generatePrivateKey());
  chain.set(jobId, { jobId, ...sessionFields(sessionKey.address), ...overrides });
  return { jobId, sessionKey, client: createTestClient({ url, jobId, sessionKey, domain }) };
}

beforeAll(async () => {
  backend = createTestBackend();
  store = createStore({
    path: ":memory:",
    deployment: { ...domain, host: host.address },
    schedule: (flush) => (heldFlushes ? heldFlushes.push(flush) : setImmediate(flush)),
    now: () => Date.now() + clockOffsetMs,
  });
  const sessions = createSessionCache({ read: async (jobId) => chain.get(jobId) ?? nonexistent(jobId), maxAgeMs: 0 });
  const protocol = createSessionProtocol({
    common,
    store: countingStore(store),
    sessions,
    domain,
    host: host.address,
    models: [servedModel],
    maxUnsignedBytes: limits.maxUnsignedBytes,
    syncBudget: createByteBudget({ capacity: limits.maxSyncBytesInFlight }),
    exposure: createExposurePolicy(limits),
    closingLeaseMs,
    // No signer here is a contract: these only count what a receipt costs the chain.
    isContract: async (address) => {
      codeReads.push(address);
      if (codeReadsFail) throw new Error("RPC down");
      return false;
    },
    isValidContractSignature: async () => false,
    chainClock: wallChainClock(),
  });
  server = createHttpServer({
    common,
    host: "127.0.0.1",
    port: 0,
    routes: createHostRoutes({
      common,
      config: { limits, server: { maxBodyBytes: 4096, writeStallTimeoutMs: 10_000 }, models: [servedModel], pricing: { minPricePerToken: 100n } },
      backend,
      protocol,
      submitter: {
        settle: async (jobId) => {
          if (failNextSettle) {
            failNextSettle = false;
            throw new HostError("chain_unavailable", "cannot reach the chain to settle; retry later");
          }
          settled.push(jobId);
          return { transactionHash: `0x${"ee".repeat(32)}`, provenTokens: "0", mined: true };
        },
      },
      identity: { host: host.address, ...domain },
      readiness: createReadiness({ checks: [] }),
      stopGenerations: new AbortController().signal,
    }),
  });
  url = await server.listen();
});

afterAll(async () => {
  await server.close({ graceMs: 1000 });
  await store.close();
});

beforeEach(() => {
  backend.behaviour.tokenDelayMs = 0;
  backend.behaviour.failAfterTokens = undefined;
  backend.behaviour.abortEndsWith = "finish";
  backend.behaviour.endless = false;
});

const chatBody = (content: string, extra: Record<string, unknown> = {}) => ({
  model: "test-genesis",
  messages: [{ role: "user", content }],
  max_tokens: 8,
  ...extra,
});
const otherHash: Hex = `0x${"ab".repeat(32)}`;
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

async function view(jobId: bigint) {
  return (await fetch(`${url}/v1/session/${jobId}`)).json();
}

/**
 * Reads a streamed answer until `count` content deltas arrived whole; returns their text. What
 * was read past them (the host may have written more) is left unparsed.
 */
async function readDeltas(response: Response, count: number): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let received = "";
  for (;;) {
    const complete = received.split("\n\n").slice(0, -1);
    const deltas = parseSse(complete.join("\n\n"))
      .map((data) => JSON.parse(data).choices?.[0]?.delta?.content ?? "")
      .filter((content: string) => content.length > 0);
    if (deltas.length >= count) return deltas.join("");
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended after ${deltas.length} deltas`);
    received += decoder.decode(value, { stream: true });
  }
}

describe("chat completions", () => {
  it("streams OpenAI chunks, ends with usage and the session object, and accepts the receipt", async () => {
    const { client, jobId } = openSession();
    const answer = await client.chat(chatBody("Who made the earth?", { stream: true, stream_options: { include_usage: true } }));
    expect(answer.status).toBe(200);
    expect(answer.events.at(-1)).toBe("[DONE]");
    const chunks = answer.events.slice(0, -1).map((data) => JSON.parse(data));
    expect(chunks[0]).toMatchObject({
      object: "chat.completion.chunk",
      model: "test-genesis",
      choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
    });
    expect(chunks.at(-2).choices[0]).toMatchObject({ delta: {}, finish_reason: "length" });
    const promptTokens = Math.ceil(Buffer.byteLength("Who made the earth?") / 4) + 2;
    expect(answer.body).toMatchObject({
      choices: [],
      usage: { prompt_tokens: promptTokens, completion_tokens: 8, total_tokens: promptTokens + 8 },
      session: {
        jobId: jobId.toString(),
        promptTokens,
        completionTokens: 8,
        cumulativeTokens: String(promptTokens + 8),
        transcriptHash: client.transcriptHash,
      },
    });
    expect(answer.text.split(" ")).toHaveLength(8);

    const receipt = await client.sendReceipt();
    expect(receipt.status).toBe(200);
    expect(await receipt.json()).toEqual({ stored: true, cumulativeTokens: String(promptTokens + 8) });
    const view = await (await fetch(`${url}/v1/session/${jobId}`)).json();
    expect(view).toMatchObject({ servedTokens: String(promptTokens + 8), signedTokens: String(promptTokens + 8), unsignedTokens: "0", lastSequence: "1" });
  });

  it("answers a plain request as one chat.completion with usage and session", async () => {
    const { client } = openSession();
    const first = await client.chat(chatBody("In the beginning"));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      object: "chat.completion",
      choices: [{ message: { role: "assistant" }, finish_reason: "length" }],
      usage: { completion_tokens: 8 },
    });
    expect(first.session?.transcriptHash).toBe(client.transcriptHash);
    const second = await client.chat(chatBody("and the earth"));
    expect(second.session?.transcriptHash).toBe(client.transcriptHash);
    expect(BigInt(second.session!.cumulativeTokens)).toBe(client.cumulativeTokens);
  });

  it("refuses a replayed sequence, and does not burn a sequence on a refusal", async () => {
    const { client } = openSession();
    expect((await client.chat(chatBody("first"))).status).toBe(200);
    const replay = await client.chat(chatBody("again"), { sequence: 1n });
    expect(replay.status).toBe(409);
    expect(replay.body.error).toMatchObject({ code: "session_replayed", type: "invalid_request_error" });
    expect((await client.chat(chatBody("next"), { sequence: 2n })).status).toBe(200);
  });

  it("refuses a request signed by another key", async () => {
    const { client } = openSession();
    const answer = await client.chat(chatBody("hello"), { signer: privateKeyToAccount(generatePrivateKey()) });
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe("session_bad_signature");
    expect(JSON.stringify(answer.body)).not.toMatch(/at .*\.ts/);
  });

  it("refuses new work once a checkpoint interval is unsigned, and serves again after a receipt", async () => {
    const { client } = openSession({ checkpointInterval: 100n });
    let refused;
    for (let exchange = 0; exchange < 10; exchange++) {
      const answer = await client.chat(chatBody("Let there be light", { max_tokens: 30 }));
      if (answer.status !== 200) {
        refused = answer;
        break;
      }
    }
    expect(refused?.status).toBe(402);
    expect(refused?.body.error.code).toBe("session_receipt_overdue");
    expect(client.cumulativeTokens).toBeGreaterThanOrEqual(100n);
    expect(client.cumulativeTokens).toBeLessThan(100n + 30n + 20n);
    expect((await client.sendReceipt()).status).toBe(200);
    expect((await client.chat(chatBody("and there was light", { max_tokens: 30 }), {})).status).toBe(200);
  });

  it("refuses new work once the unreceipted requests and answers it keeps reach maxUnsignedBytes, whatever few tokens they cost", async () => {
    const { client, jobId } = openSession({ checkpointInterval: 1_000_000n });
    // Padding the host ignores but must keep (the exact bytes are signed): cheap in tokens, heavy in bytes.
    const padded = () => chatBody("hi", { max_tokens: 1, padding: "x".repeat(3_500) });
    let refused;
    let served = 0;
    for (let exchange = 0; exchange < 20; exchange++) {
      const answer = await client.chat(padded());
      if (answer.status !== 200) {
        refused = answer;
        break;
      }
      served += 1;
    }
    expect(refused?.status).toBe(402);
    expect(refused?.body.error.code).toBe("session_receipt_overdue");
    expect(refused?.body.error.message).toMatch(/bytes of requests and answers without a receipt/);
    // 16 KiB of ~3.6 KB bodies: refused on the fifth, far below the token interval.
    expect(served).toBe(5);
    expect(client.cumulativeTokens).toBeLessThan(100n);
    // A receipt releases the kept bytes: the session is served again.
    expect((await client.sendReceipt()).status).toBe(200);
    expect(store.unsignedBytes(jobId)).toBe(0);
    expect((await client.chat(padded())).status).toBe(200);
  });

  it("refuses work the deposit cannot pay for", async () => {
    const { client } = openSession({ depositAmount: 40n * 10n ** 9n, maxTokens: 40n });
    const answer = await client.chat(chatBody("a prompt", { max_tokens: 50 }));
    expect(answer.status).toBe(402);
    expect(answer.body.error.code).toBe("session_deposit_exhausted");
    // The refusal says how many tokens still fit, and that many is served.
    const fits = /send max_tokens of at most (\d+), or close the session and open a new one with a larger deposit$/.exec(answer.body.error.message);
    expect(fits).not.toBeNull();
    expect((await client.chat(chatBody("a prompt", { max_tokens: Number(fits![1]) }))).status).toBe(200);
  });

  it("refuses a prompt the rest of the deposit cannot pay for with a hint to reopen with a larger deposit", async () => {
    const { client } = openSession({ depositAmount: 40n * 10n ** 9n, maxTokens: 40n });
    const answer = await client.chat(chatBody("a prompt longer than forty tokens can ever be".repeat(4), { max_tokens: 1 }));
    expect(answer.status).toBe(402);
    expect(answer.body.error.message).toMatch(/; close the session and open a new one with a larger deposit$/);
  });

  it("refuses sessions that are unknown, ended, someone else's or for another model", async () => {
    const unknown = createTestClient({ url, jobId: 999n, sessionKey: privateKeyToAccount(generatePrivateKey()), domain });
    const answers = [
      await unknown.chat(chatBody("x")),
      await openSession({ status: "completed" }).client.chat(chatBody("x")),
      await openSession({ createdAt: 1_000n }).client.chat(chatBody("x")),
      await openSession({ host: privateKeyToAccount(generatePrivateKey()).address }).client.chat(chatBody("x")),
      await openSession({ modelId: `0x${"22".repeat(32)}` }).client.chat(chatBody("x")),
      await openSession().client.chat({ ...chatBody("x"), model: "gpt-4" }),
    ];
    expect(answers.map((answer) => [answer.status, answer.body.error.code])).toEqual([
      [404, "session_unknown"],
      [409, "session_not_active"],
      [409, "session_not_active"],
      [403, "session_wrong_host"],
      [404, "model_not_served"],
      [404, "model_not_served"],
    ]);
  });

  // The embedded model ends a stopped generation with its usage; an OpenAI-compatible upstream cut
  // off mid-stream ends it with an error and no usage. Either way the client pays for what it was
  // sent, so it cannot take answers free by leaving each one early.
  it.each(["finish", "error"] as const)(
    "stops generating when the client leaves and bills only the text it was sent (stopped backend ends with %s)",
    async (abortEndsWith) => {
      backend.behaviour.tokenDelayMs = 20;
      backend.behaviour.abortEndsWith = abortEndsWith;
      const { client, jobId } = openSession();
      const abortedBefore = backend.aborted;
      const controller = new AbortController();
      const response = await client.post("/v1/chat/completions", chatBody("a long answer", { stream: true, max_tokens: 200 }), { signal: controller.signal });
      await readDeltas(response, 3);
      controller.abort();
      await expect.poll(() => backend.aborted, { timeout: 2000 }).toBe(abortedBefore + 1);
      await expect.poll(async () => (await view(jobId)).lastExchange?.aborted, { timeout: 2000 }).toBe(true);
      const state = await view(jobId);
      // At least the three deltas the client read; far fewer than the 200 asked for.
      expect(state.lastExchange.completionTokens).toBeGreaterThanOrEqual(3);
      expect(state.lastExchange.completionTokens).toBeLessThan(20);
      expect(state.servedTokens).toBe(String(state.lastExchange.promptTokens + state.lastExchange.completionTokens));
      // Without usage (and no upstream tokenizer to ask) the evaluated prompt is billed at the
      // documented bound: its UTF-8 bytes plus limits.promptTokensPerMessage per message.
      if (abortEndsWith === "error") expect(state.lastExchange.promptTokens).toBe(Buffer.byteLength("a long answer") + limits.promptTokensPerMessage);
    },
  );

  it("does not record an answer over an exchange another process recorded meanwhile (its turn lost with its lock connection): the stream breaks, the transcript does not fork", async () => {
    backend.behaviour.tokenDelayMs = 20;
    const { client, jobId } = openSession();
    const response = await client.post("/v1/chat/completions", chatBody("a long answer", { stream: true, max_tokens: 8 }));
    const reader = response.body!.getReader();
    await reader.read();
    // What another process appends once it holds the session's turn (the store shared by both).
    const other: StoredExchange = {
      jobId,
      sequence: 50n,
      promptTokens: 1,
      completionTokens: 1,
      cumulativeTokens: 2,
      transcriptHash: `0x${"ab".repeat(32)}`,
      aborted: false,
      previousTranscriptHash: emptyTranscriptHash,
      requestBody: new Uint8Array([1]),
      requestSignature: "0x01",
      responseText: "x",
    };
    await store.appendExchange(other);
    let received = "";
    const ended = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return "ended";
        received += new TextDecoder().decode(value);
      }
    })();
    await expect(ended).rejects.toThrow();
    expect(received).not.toContain("[DONE]");
    expect(store.lastExchange(jobId)).toMatchObject({ sequence: 50n, cumulativeTokens: 2, transcriptHash: other.transcriptHash });
    expect(store.session(jobId)).toMatchObject({ servedTokens: 2, transcriptHash: other.transcriptHash });
  });

  it("cuts off an upstream that streams past max_tokens (each delta is at least a token) with an error, and bills nothing", async () => {
    backend.behaviour.endless = true;
    const { client, jobId } = openSession();
    const answer = await client.chat(chatBody("an endless answer", { stream: true, max_tokens: 5 }));
    expect(answer.status).toBe(200);
    const chunks = answer.events.map((data) => JSON.parse(data));
    expect(chunks.filter((chunk) => chunk.choices?.[0]?.delta?.content)).toHaveLength(5);
    expect(chunks.at(-1).error).toMatchObject({ code: "backend_error" });
    expect(await (await fetch(`${url}/v1/session/${jobId}`)).json()).toMatchObject({ servedTokens: "0" });
  });

  it("reports a model failure before any text as an error answer and bills nothing", async () => {
    backend.behaviour.failAfterTokens = 0;
    const { client, jobId } = openSession();
    const answer = await client.chat(chatBody("fail", { stream: true }));
    expect(answer.status).toBe(502);
    expect(answer.body.error).toMatchObject({ code: "backend_error", type: "server_error" });
    expect(await (await fetch(`${url}/v1/session/${jobId}`)).json()).toMatchObject({ servedTokens: "0" });
  });
});

describe("the request path", () => {
  it("forwards a request to the model as soon as its own checks pass, its session row and sequence committed without waiting for the store's next group; its session object still waits for its exchange's commit", async () => {
    const { client, jobId } = openSession();
    for (const prompt of ["first contact", "a known session"]) {
      const forwarded = backend.requests.length;
      heldFlushes = [];
      try {
        const answer = client.chat(chatBody(prompt, { stream: true }));
        // The first group the request waits for: the exchange's record, once the answer is generated (before: its sequence, before the model heard of it).
        await until(() => heldFlushes!.length > 0);
        expect(backend.requests.length).toBe(forwarded + 1);
        expect(store.session(jobId)?.lastSequence).toBe(client.sequence);
        const flushes = heldFlushes;
        heldFlushes = undefined;
        flushes.forEach((flush) => flush());
        const answered = await answer;
        expect(answered.status).toBe(200);
        expect(answered.session?.transcriptHash).toBe(client.transcriptHash);
      } finally {
        const flushes = heldFlushes ?? [];
        heldFlushes = undefined;
        flushes.forEach((flush) => flush());
      }
    }
  });

  it("never forwards a request whose sequence claim failed: 503, the model not asked, and the retry with the same sequence is served", async () => {
    const { client, jobId } = openSession();
    const forwarded = backend.requests.length;
    claimFault = new HostError("storage_unavailable", "storage unavailable: disk I/O error; retry later");
    const refused = await client.chat(chatBody("In the beginning", { stream: true }));
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: "storage_unavailable" });
    expect(backend.requests.length).toBe(forwarded);
    expect(store.session(jobId)?.lastSequence).toBe(0n);
    const retried = await client.chat(chatBody("In the beginning", { stream: true }), { sequence: 1n });
    expect(retried.status).toBe(200);
    expect(backend.requests.length).toBe(forwarded + 1);
  });
});

describe("receipts", () => {
  it("refuses a receipt whose transcript hash differs from the host's record", async () => {
    const { client } = openSession();
    await client.chat(chatBody("In the beginning"));
    const response = await client.sendReceipt({ transcriptHash: `0x${"ab".repeat(32)}` });
    expect(response.status).toBe(409);
    expect((await response.json()).error.code).toBe("session_receipt_mismatch");
  });

  it("refuses a receipt for a count no exchange ended at, or more than was served", async () => {
    const { client } = openSession();
    await client.chat(chatBody("In the beginning"));
    for (const cumulativeTokens of [client.cumulativeTokens - 1n, client.cumulativeTokens + 1n]) {
      const response = await client.sendReceipt({ cumulativeTokens });
      expect(response.status).toBe(409);
      expect((await response.json()).error.code).toBe("session_receipt_mismatch");
    }
  });

  it("refuses a receipt signed by another key", async () => {
    const { client } = openSession();
    await client.chat(chatBody("In the beginning"));
    const response = await client.sendReceipt({ signer: privateKeyToAccount(generatePrivateKey()) });
    expect(response.status).toBe(401);
    expect((await response.json()).error.code).toBe("session_bad_signature");
  });

  it("refuses the session signer's own receipt with v 0/1, which the chain's ecrecover would refuse, with a hint, and takes it with v 27/28", async () => {
    const { client } = openSession();
    await client.chat(chatBody("In the beginning"));
    const compactV = (signature: Hex) => `${signature.slice(0, 130)}0${Number.parseInt(signature.slice(130), 16) - 27}` as Hex;
    const refused = await client.sendReceipt({ reshape: compactV });
    const body = await refused.json();
    expect([refused.status, body.error.code]).toEqual([401, "session_bad_signature"]);
    expect(body.error.message).toContain("v 27 or 28");
    expect((await client.sendReceipt()).status).toBe(200);
  });

  it("asks whether the signer is a contract only once a receipt fails the ECDSA check, once per session, and again after a failed read", async () => {
    const { client, sessionKey } = openSession();
    await client.chat(chatBody("In the beginning"));
    expect((await client.sendReceipt()).status).toBe(200);
    await client.chat(chatBody("and the earth"));
    expect(codeReads.filter((address) => address === sessionKey.address)).toEqual([]); // honest requests and receipts read nothing

    codeReadsFail = true;
    const forger = privateKeyToAccount(generatePrivateKey());
    const unreadable = await client.sendReceipt({ signer: forger });
    expect(unreadable.status).toBe(503);
    expect((await unreadable.json()).error.code).toBe("chain_unavailable");
    codeReadsFail = false;
    for (let forgery = 0; forgery < 3; forgery++) {
      const response = await client.sendReceipt({ signer: forger });
      expect(response.status).toBe(401);
      expect((await response.json()).error.code).toBe("session_bad_signature");
    }
    expect(codeReads.filter((address) => address === sessionKey.address)).toHaveLength(2); // the failed read, then one for all three
    expect((await client.sendReceipt()).status).toBe(200);
  });

  it("reads a served session's row three times per chat request and once per receipt (store calls counted)", async () => {
    const { client } = openSession();
    await client.chat(chatBody("In the beginning"));
    expect((await client.sendReceipt()).status).toBe(200);
    storeCalls.clear();
    await client.chat(chatBody("and the earth"));
    // Authentication (refuses early, outside the turn), under the turn (a close that won it), before recording (another process served meanwhile).
    expect(Object.fromEntries(storeCalls)).toEqual({ assertWritable: 1, session: 3, unsignedBytes: 1, claimSequence: 1, appendExchange: 1 });
    storeCalls.clear();
    expect((await client.sendReceipt()).status).toBe(200);
    expect(Object.fromEntries(storeCalls)).toEqual({ assertWritable: 1, session: 1, exchangesAt: 1, storeReceipt: 1 });
  });

  it("accepts an older receipt again and stores nothing twice", async () => {
    const { client, jobId } = openSession();
    await client.chat(chatBody("one"));
    const first = { cumulativeTokens: client.cumulativeTokens, transcriptHash: client.transcriptHash };
    expect((await client.sendReceipt()).status).toBe(200);
    await client.chat(chatBody("two"));
    expect((await client.sendReceipt()).status).toBe(200);
    const stored = await metricValue(common.metrics.receiptsStored);
    expect((await client.sendReceipt(first)).status).toBe(200);
    expect((await client.sendReceipt()).status).toBe(200);
    expect(await metricValue(common.metrics.receiptsStored)).toBe(stored);
    expect(store.session(jobId)?.signedTokens).toBe(Number(client.cumulativeTokens));
  });
});

describe("transcript binding", () => {
  it("refuses a request built on another transcript, bills nothing and leaves its sequence unused", async () => {
    const { client, jobId } = openSession();
    expect((await client.chat(chatBody("In the beginning"))).status).toBe(200);
    const before = await view(jobId);
    const refusedBefore = await metricValue(common.metrics.requestsRefused, { code: "session_out_of_sync" });

    for (const transcriptHash of [emptyTranscriptHash, otherHash]) {
      const stale = await client.chat(chatBody("and the earth"), { sequence: 2n, transcriptHash });
      expect(stale.status).toBe(409);
      expect(stale.body.error).toMatchObject({ code: "session_out_of_sync", type: "invalid_request_error" });
    }
    expect(await view(jobId)).toEqual(before);
    expect(await metricValue(common.metrics.requestsRefused, { code: "session_out_of_sync" })).toBe(refusedBefore + 2);

    const served = await client.chat(chatBody("and the earth"), { sequence: 2n });
    expect(served.status).toBe(200);
    expect(await view(jobId)).toMatchObject({ lastSequence: "2", servedTokens: served.session!.cumulativeTokens, transcriptHash: client.transcriptHash });
  });

  it("refuses a missing or malformed X-Session-Transcript, and a signature over another transcript", async () => {
    const { client } = openSession();
    for (const transcript of [undefined, "0x1234", `0x${"zz".repeat(32)}`, "ab".repeat(32), `${emptyTranscriptHash}00`]) {
      const answer = await client.chat(chatBody("x"), { headers: { [sessionHeaders.transcript]: transcript } });
      expect([transcript, answer.status, answer.body.error.code]).toEqual([transcript, 400, "invalid_request"]);
    }
    const missingOnSync = await client.sync({ headers: { [sessionHeaders.transcript]: undefined } });
    expect([missingOnSync.status, (await missingOnSync.json()).error.code]).toEqual([400, "invalid_request"]);

    const resigned = await client.chat(chatBody("x"), { transcriptHash: otherHash, headers: { [sessionHeaders.transcript]: emptyTranscriptHash } });
    expect([resigned.status, resigned.body.error.code]).toEqual([401, "session_bad_signature"]);

    // None of the refusals took the session's turn.
    const served = await client.chat(chatBody("x"));
    expect(served.status).toBe(200);
    expect(served.session!.cumulativeTokens).toBe(String(served.session!.promptTokens + served.session!.completionTokens));
  });
});

describe("sync", () => {
  it("answers with the newest receipt and exactly the exchanges after the receipt before it, as they were signed and delivered", async () => {
    const { client, jobId, sessionKey } = openSession();
    const first = await client.chat(chatBody("In the beginning"));
    expect(first.status).toBe(200);
    const afterFirst = { jobId, cumulativeTokens: client.cumulativeTokens, transcriptHash: client.transcriptHash };
    expect((await client.sendReceipt()).status).toBe(200);
    const second = await client.chat(chatBody("God created the heaven", { stream: true, max_tokens: 12 }));
    expect(second.status).toBe(200);

    const response = await client.sync();
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      jobId: jobId.toString(),
      lastSequence: "3",
      servedTokens: second.session!.cumulativeTokens,
      transcriptHash: client.transcriptHash,
      receipt: {
        jobId: jobId.toString(),
        cumulativeTokens: afterFirst.cumulativeTokens.toString(),
        transcriptHash: afterFirst.transcriptHash,
        signature: await signCheckpoint(sessionKey, domain, afterFirst),
      },
      exchanges: [
        {
          sequence: "1",
          requestBody: base64(first.requestBody),
          requestSignature: first.requestSignature,
          previousTranscriptHash: emptyTranscriptHash,
          responseText: first.text,
          promptTokens: first.session!.promptTokens,
          completionTokens: first.session!.completionTokens,
          cumulativeTokens: first.session!.cumulativeTokens,
          transcriptHash: afterFirst.transcriptHash,
          aborted: false,
        },
        {
          sequence: "2",
          requestBody: base64(second.requestBody),
          requestSignature: second.requestSignature,
          previousTranscriptHash: afterFirst.transcriptHash,
          responseText: second.text,
          promptTokens: second.session!.promptTokens,
          completionTokens: second.session!.completionTokens,
          cumulativeTokens: second.session!.cumulativeTokens,
          transcriptHash: second.session!.transcriptHash,
          aborted: false,
        },
      ],
    } satisfies SyncResponse);

    expect((await client.sendReceipt()).status).toBe(200);
    const synced = (await (await client.sync()).json()) as SyncResponse;
    // The receipt before the newest covers the first exchange: its request and answer are gone.
    expect(synced).toMatchObject({
      lastSequence: "4",
      receipt: { cumulativeTokens: second.session!.cumulativeTokens, transcriptHash: client.transcriptHash },
      exchanges: [{ sequence: "2", transcriptHash: second.session!.transcriptHash }],
    });
    expect(synced.exchanges).toHaveLength(1);
  });

  it("consumes its sequence and refuses a replayed one", async () => {
    const { client } = openSession();
    expect((await client.chat(chatBody("one"))).status).toBe(200);
    expect((await client.sync()).status).toBe(200);
    for (const sequence of [1n, 2n]) {
      const replayed = await client.sync({ sequence });
      expect([replayed.status, (await replayed.json()).error.code]).toEqual([409, "session_replayed"]);
    }
    expect((await client.chat(chatBody("two"), { sequence: 2n })).body.error.code).toBe("session_replayed");
    expect((await client.chat(chatBody("two"))).status).toBe(200);
  });

  it("refuses a sync signed by another key or naming another job in its body", async () => {
    const { client, jobId } = openSession();
    const forged = await client.sync({ signer: privateKeyToAccount(generatePrivateKey()) });
    expect([forged.status, (await forged.json()).error.code]).toEqual([401, "session_bad_signature"]);
    const elsewhere = await client.post("/v1/session/sync", { jobId: (jobId + 1n).toString() });
    expect([elsewhere.status, (await elsewhere.json()).error.code]).toEqual([400, "invalid_request"]);
  });

  it("answers a sync for a session it has served nothing for with nothing to sign", async () => {
    const { client, jobId } = openSession();
    const response = await client.sync();
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      jobId: jobId.toString(),
      lastSequence: "1",
      servedTokens: "0",
      transcriptHash: emptyTranscriptHash,
      receipt: null,
      exchanges: [],
    });
    expect((await client.chat(chatBody("first"), { sequence: 1n })).body.error.code).toBe("session_replayed");
    expect((await client.chat(chatBody("first"))).status).toBe(200);

    const unknown = createTestClient({ url, jobId: 999n, sessionKey: privateKeyToAccount(generatePrivateKey()), domain });
    const refused = await unknown.sync();
    expect([refused.status, (await refused.json()).error.code]).toEqual([404, "session_unknown"]);
  });

  it("lists an exchange the client broke off as written, and the client signs for it and goes on", async () => {
    backend.behaviour.tokenDelayMs = 20;
    const { client, jobId } = openSession();
    const request = chatBody("a long answer", { stream: true, max_tokens: 200 });
    const controller = new AbortController();
    const response = await client.post("/v1/chat/completions", request, { signal: controller.signal });
    const received = await readDeltas(response, 3);
    controller.abort();

    // The sync waits for the broken exchange to be recorded: it takes the session's turn after it.
    const synced = (await (await client.sync()).json()) as SyncResponse;
    backend.behaviour.tokenDelayMs = 0;
    expect(synced).toMatchObject({ lastSequence: "2", receipt: null });
    expect(synced.exchanges).toHaveLength(1);
    const [broken] = synced.exchanges;
    expect(broken).toMatchObject({
      sequence: "1",
      aborted: true,
      requestBody: base64(new TextEncoder().encode(JSON.stringify(request))),
      previousTranscriptHash: emptyTranscriptHash,
      cumulativeTokens: synced.servedTokens,
      transcriptHash: synced.transcriptHash,
    });
    const written = (await createTestBackend().generate({ messages: [{ role: "user", content: "a long answer" }], maxTokens: request.max_tokens })).text;
    expect(written.startsWith(broken!.responseText)).toBe(true);
    expect(broken!.responseText.startsWith(received)).toBe(true);
    // The test backend writes one word per delta and per token: billed no more than written.
    const deltasWritten = broken!.responseText.split(" ").length;
    expect(broken!.completionTokens).toBeGreaterThanOrEqual(3);
    expect(broken!.completionTokens).toBeLessThanOrEqual(deltasWritten);
    expect(deltasWritten).toBeLessThan(200);

    client.followSync(synced);
    expect(client.transcriptHash).toBe(synced.transcriptHash);
    const receipt = await client.sendReceipt();
    expect(receipt.status).toBe(200);
    expect(await view(jobId)).toMatchObject({ signedTokens: synced.servedTokens, unsignedTokens: "0" });
    const next = await client.chat(chatBody("and then?"));
    expect(next.status).toBe(200);
    expect(BigInt(next.session!.cumulativeTokens)).toBe(BigInt(synced.servedTokens) + BigInt(next.session!.promptTokens + next.session!.completionTokens));
  });

  it("counts the syncs it answers in session_jobs_session_syncs_total", async () => {
    const before = await metricValue(common.metrics.sessionSyncs);
    const { client } = openSession();
    expect((await client.sync()).status).toBe(200);
    expect((await client.sync({ sequence: 1n })).status).toBe(409);
    expect((await client.sync()).status).toBe(200);
    expect(await metricValue(common.metrics.sessionSyncs)).toBe(before + 2);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/^# TYPE session_jobs_session_syncs_total counter$/m);
    expect(text).toContain(`\nsession_jobs_session_syncs_total ${before + 2}\n`);
  });
});

describe("close", () => {
  it("settles through the submitter and refuses work afterwards", async () => {
    const { client, jobId } = openSession();
    await client.chat(chatBody("one"));
    const closed = await client.post("/v1/session/close", { jobId: jobId.toString() });
    expect(closed.status).toBe(200);
    expect(await closed.json()).toMatchObject({ jobId: jobId.toString(), transactionHash: `0x${"ee".repeat(32)}` });
    expect(settled).toContain(jobId);
    expect((await client.chat(chatBody("two"))).body.error.code).toBe("session_not_active");
  });

  it("refuses new work at once while another process closes the session (shared through the store), and serves again once the close's lease ends", async () => {
    const { client, jobId } = openSession();
    expect((await client.chat(chatBody("one"))).status).toBe(200);
    // Another host process on the same store began closing, then died before its transaction was sent.
    await store.markClosing(jobId, closingLeaseMs, "another process's close");
    const refused = await client.chat(chatBody("two"));
    expect([refused.status, refused.body.error.code, refused.body.error.message]).toEqual([409, "session_not_active", `session ${jobId} is closing`]);
    expect((await client.sync()).status).toBe(409);
    // A second close (a retried one, another tab) is told, machine-readably, that the session is about to settle, and when to look again.
    const secondClose = await client.post("/v1/session/close", { jobId: jobId.toString() });
    expect([secondClose.status, secondClose.headers.get("retry-after"), await secondClose.json()]).toEqual([
      409,
      "1",
      { error: { message: `session ${jobId} is closing`, type: "invalid_request_error", code: "session_not_active", reason: "closing" } },
    ]);
    clockOffsetMs += closingLeaseMs + 1;
    try {
      expect((await client.chat(chatBody("two"))).status).toBe(200);
      expect((await client.post("/v1/session/close", { jobId: jobId.toString() })).status).toBe(200);
      expect(settled).toContain(jobId);
    } finally {
      clockOffsetMs = 0;
    }
  });

  it("serves a session again when its close fails before anything settled", async () => {
    const { client, jobId } = openSession();
    expect((await client.chat(chatBody("one"))).status).toBe(200);
    failNextSettle = true;
    const failed = await client.post("/v1/session/close", { jobId: jobId.toString() });
    expect([failed.status, (await failed.json()).error.code]).toEqual([503, "chain_unavailable"]);
    expect(store.session(jobId)).toMatchObject({ closing: false, closed: false });
    expect((await client.chat(chatBody("two"))).status).toBe(200);
  });
});

describe("HTTP", () => {
  it("answers malformed requests with JSON errors and the right status", async () => {
    const { client } = openSession();
    const cases: [Promise<Response>, number, string][] = [
      [fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" }), 400, "invalid_request"],
      [fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }), 415, "invalid_request"],
      [
        fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ messages: "x".repeat(5000) }),
        }),
        413,
        "invalid_request",
      ],
      [client.post("/v1/chat/completions", { messages: [] }), 400, "invalid_request"],
      [
        fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(chatBody("x")) }),
        400,
        "invalid_request",
      ],
      [fetch(`${url}/v1/nothing`), 404, "not_found"],
      [fetch(`${url}/v1/chat/completions`), 405, "method_not_allowed"],
      [fetch(`${url}/v1/session/12345`), 404, "session_unknown"],
    ];
    for (const [pending, status, code] of cases) {
      const response = await pending;
      expect(response.status).toBe(status);
      const body = await response.json();
      expect(body.error.code).toBe(code);
      expect(typeof body.error.message).toBe("string");
    }
  });

  it("tells a client without the session headers to go through the SDK", async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-none" },
      body: JSON.stringify(chatBody("x")),
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toBe(
      "X-Session-Job-Id is missing: this host serves paid sessions; send requests through the SDK's createSessionFetch or `session-jobs client chat`",
    );
  });

  it("tells a client that left /v1 out of its base URL to add it", async () => {
    for (const [method, path] of [
      ["POST", "/chat/completions"],
      ["GET", "/models"],
    ] as const) {
      // A Host header is the client's to write: the hint must not echo it (nor guess the scheme) as the URL to use.
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { host: "evil.example", ...(method === "POST" && { "content-type": "application/json" }) },
        ...(method === "POST" && { body: "{}" }),
      });
      expect(response.status).toBe(404);
      expect((await response.json()).error).toMatchObject({
        code: "not_found",
        message: `no route ${path}; the base URL is the host's URL followed by /v1`,
      });
    }
  });

  it("lists the served model and answers /health and /ready", async () => {
    expect(await (await fetch(`${url}/v1/models`)).json()).toMatchObject({ object: "list", data: [{ id: "test-genesis", object: "model" }] });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect(await (await fetch(`${url}/ready`)).json()).toMatchObject({ status: "ready", host: host.address });
  });

  it("serves Prometheus metrics", async () => {
    const response = await fetch(`${url}/metrics`);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await response.text();
    expect(text).toMatch(/^# HELP session_jobs_http_requests_total /m);
    expect(text).toMatch(/^session_jobs_http_requests_total\{route="\/v1\/chat\/completions",status="200"\} [1-9]\d*$/m);
    expect(text).toMatch(/^session_jobs_requests_refused_total\{code="session_replayed"\} [1-9]\d*$/m);
    expect(text).toMatch(/^session_jobs_requests_refused_total\{code="session_out_of_sync"\} [1-9]\d*$/m);
    expect(text).toMatch(/^session_jobs_tokens_served_total\{kind="completion"\} [1-9]\d*$/m);
    expect(text).toMatch(/^session_jobs_receipts_rejected_total\{code="session_receipt_mismatch"\} [1-9]\d*$/m);
    expect(text).toMatch(/^session_jobs_http_request_duration_seconds_bucket\{le="\+Inf",route="\/health"\} \d+$/m);
  });
});
