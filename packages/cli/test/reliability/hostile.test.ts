import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keccak256, stringToBytes, toHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { anvilPrivateKeys } from "@session-jobs/contracts/anvil";
import {
  chat,
  closeSession,
  emptyTranscriptHash,
  getSession,
  openSession,
  sessionHeaders,
  signCheckpoint,
  signSessionRequest,
  type Session,
  type SignedEndpoint,
} from "@session-jobs/sdk";
import { demoKeys, walletFor, type LocalNetwork } from "../../src/demo/localNetwork.ts";
import { hostConfigInput, hostView, startInProcessHost, startNetwork, timeTravel, untilHostSeesHead, type HostSessionView } from "./harness.ts";
import { registerHost, resolveHostConfig } from "@session-jobs/host";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Hostile input against a running host: every refusal is a 4xx with a machine-readable
// error.code, and leaves the session exactly as it was (served, signed, proven, sequence).

const maxBodyBytes = 16_384;
const maxTokens = 64;
let network: LocalNetwork;
let host: Awaited<ReturnType<typeof startInProcessHost>>;
const hostAddress = privateKeyToAccount(demoKeys.host).address;
const otherHostKey = anvilPrivateKeys[4];

beforeAll(async () => {
  network = await startNetwork();
  host = await startInProcessHost(network, {
    extra: { server: { maxBodyBytes }, limits: { maxTokens, defaultMaxTokens: 32, sessionCacheMs: 0 }, batch: { delayMs: 0 } },
  });
  // A second registered host whose sessions this host must not serve; its registered URL points at this host.
  const other = resolveHostConfig({
    ...hostConfigInput(network, mkdtempSync(join(tmpdir(), "session-jobs-other-")), 1),
    publicUrl: host.url,
    privateKey: otherHostKey,
  });
  await registerHost({ config: other });
}, 45_000);
afterAll(async () => {
  await host?.stop();
  await network?.anvil.stop();
});

async function open(parameters: { host?: Hex; maxDuration?: bigint } = {}): Promise<Session> {
  const { session } = await openSession(walletFor(network, demoKeys.user), {
    contracts: network.deployment,
    host: parameters.host ?? hostAddress,
    deposit: 10n ** 16n,
    proofInterval: 100n,
    maxDuration: parameters.maxDuration ?? 86_400n,
    modelId: network.modelId,
  });
  return session;
}

type Reply = { status: number; json: { error?: { code?: string; message?: string } } & Record<string, unknown>; contentType: string };

/** A POST with the body exactly as given; `sign` signs it for the session (with the session key unless `key`). */
async function post(
  path: string,
  body: string | Uint8Array,
  options: {
    session?: Session;
    sequence?: bigint;
    key?: Hex;
    headers?: Record<string, string>;
    signBody?: string;
    transcriptHash?: Hex;
    signAs?: SignedEndpoint;
  } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const { session } = options;
  if (session && options.sequence !== undefined) {
    const signed = typeof options.signBody === "string" ? stringToBytes(options.signBody) : typeof body === "string" ? stringToBytes(body) : body;
    headers[sessionHeaders.jobId] = String(session.jobId);
    headers[sessionHeaders.sequence] = String(options.sequence);
    const transcriptHash = options.transcriptHash ?? session.transcriptHash;
    headers[sessionHeaders.transcript] = transcriptHash;
    headers[sessionHeaders.signature] = await signSessionRequest(privateKeyToAccount(options.key ?? session.sessionKey), session, {
      jobId: session.jobId,
      sequence: options.sequence,
      transcriptHash,
      endpoint: options.signAs ?? (path as SignedEndpoint),
      body: signed,
    });
  }
  Object.assign(headers, options.headers);
  for (const [name, value] of Object.entries(headers)) if (value === "") delete headers[name];
  const response = await fetch(`${host.url}${path}`, { method: "POST", headers, body: body as BodyInit });
  const text = await response.text();
  let json: Reply["json"];
  try {
    json = JSON.parse(text) as Reply["json"];
  } catch {
    json = { raw: text };
  }
  return { status: response.status, json, contentType: response.headers.get("content-type") ?? "" };
}

/**
 * Sends bytes exactly as given over one TCP connection and resolves with everything the host
 * answers before it closes (send `Connection: close`). The write side stays open, as a browser's
 * would: a half-closed connection lets Node drop an answer that is still being prepared.
 */
function raw(request: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const url = new URL(host.url);
    const socket = connect(Number(url.port), url.hostname, () => socket.write(request));
    let data = "";
    socket.setTimeout(10_000, () => socket.destroy(new Error("raw request timed out")));
    socket.on("data", (chunk) => (data += String(chunk)));
    socket.on("end", () => resolve(data));
    socket.on("close", () => resolve(data));
    socket.on("error", reject);
  });
}
const statusOf = (reply: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1]);
const codeOf = (reply: string) => (JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4)) as { error: { code: string } }).error.code;

const chatBody = (extra: Record<string, unknown> = {}) => JSON.stringify({ messages: [{ role: "user", content: "Genesis 1:1" }], max_tokens: 16, ...extra });

/** What must not change: the host's view and the chain's. */
async function snapshot(session: Session) {
  const view: HostSessionView = await hostView(host.url, session.jobId);
  const chain = await getSession(network.publicClient, { marketplace: network.deployment.jobMarketplace, jobId: session.jobId });
  return {
    servedTokens: view.servedTokens,
    signedTokens: view.signedTokens,
    provenTokens: view.provenTokens,
    lastSequence: view.lastSequence,
    closed: view.closed,
    chainProven: chain.provenTokens,
    chainStatus: chain.status,
  };
}

function expectRefused(reply: Reply, status: number, code: string) {
  expect({ status: reply.status, code: reply.json.error?.code }).toEqual({ status, code });
  expect(reply.contentType).toMatch(/^application\/json/);
  expect(JSON.stringify(reply.json)).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
}

describe("hostile requests against a running host", () => {
  let session: Session;
  let before: Awaited<ReturnType<typeof snapshot>>;
  beforeAll(async () => {
    session = await open();
    await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 16 });
    await chat(session, { messages: [{ role: "user", content: "And God said" }], maxTokens: 16 });
    before = await snapshot(session);
    expect(BigInt(before.lastSequence)).toBeGreaterThan(1n);
    expect(BigInt(before.signedTokens)).toBe(session.cumulativeTokens);
  }, 30_000);
  const next = () => session.sequence + 1n;

  it.each([
    ["malformed JSON", () => post("/v1/chat/completions", '{"messages": [', { session, sequence: next() }), 400, "invalid_request"],
    ["JSON that is not an object", () => post("/v1/chat/completions", "[1,2,3]", { session, sequence: next() }), 400, "invalid_request"],
    [
      "invalid UTF-8 bytes",
      () => post("/v1/chat/completions", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), { session, sequence: next() }),
      400,
      "invalid_request",
    ],
    ["empty messages", () => post("/v1/chat/completions", JSON.stringify({ messages: [] }), { session, sequence: next() }), 400, "invalid_request"],
    [
      "a wrong role",
      () => post("/v1/chat/completions", JSON.stringify({ messages: [{ role: "root", content: "x" }] }), { session, sequence: next() }),
      400,
      "invalid_request",
    ],
    [
      "an oversize body",
      () => post("/v1/chat/completions", chatBody({ pad: "x".repeat(maxBodyBytes * 4) }), { session, sequence: next() }),
      413,
      "invalid_request",
    ],
    [
      "a non-JSON content type",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: next(), headers: { "content-type": "text/plain" } }),
      415,
      "invalid_request",
    ],
    [
      "absurd max_tokens (1e9)",
      () => post("/v1/chat/completions", chatBody({ max_tokens: 1_000_000_000 }), { session, sequence: next() }),
      400,
      "invalid_request",
    ],
    ["absurd max_tokens (1e308)", () => post("/v1/chat/completions", chatBody({ max_tokens: 1e308 }), { session, sequence: next() }), 400, "invalid_request"],
    ["negative max_tokens", () => post("/v1/chat/completions", chatBody({ max_tokens: -1 }), { session, sequence: next() }), 400, "invalid_request"],
    ["fractional max_tokens", () => post("/v1/chat/completions", chatBody({ max_tokens: 1.5 }), { session, sequence: next() }), 400, "invalid_request"],
    ["max_tokens as a string", () => post("/v1/chat/completions", chatBody({ max_tokens: "16" }), { session, sequence: next() }), 400, "invalid_request"],
    [
      "max_completion_tokens over the limit",
      () => post("/v1/chat/completions", chatBody({ max_completion_tokens: maxTokens + 1 }), { session, sequence: next() }),
      400,
      "invalid_request",
    ],
    ["no session headers", () => post("/v1/chat/completions", chatBody()), 400, "invalid_request"],
    [
      "a non-decimal job id",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: next(), headers: { [sessionHeaders.jobId]: "0x1" } }),
      400,
      "invalid_request",
    ],
    [
      "a 79-digit job id",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: next(), headers: { [sessionHeaders.jobId]: "9".repeat(79) } }),
      400,
      "invalid_request",
    ],
    ["sequence 0", () => post("/v1/chat/completions", chatBody(), { session, sequence: 0n }), 400, "invalid_request"],
    [
      "a negative sequence",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: next(), headers: { [sessionHeaders.sequence]: "-5" } }),
      400,
      "invalid_request",
    ],
    [
      "a missing signature",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: next(), headers: { [sessionHeaders.signature]: "" } }),
      401,
      "session_bad_signature",
    ],
    [
      "a garbled signature (not hex)",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: next(), headers: { [sessionHeaders.signature]: "0x" + "zz".repeat(65) } }),
      401,
      "session_bad_signature",
    ],
    [
      "a random 65-byte signature",
      () =>
        post("/v1/chat/completions", chatBody(), {
          session,
          sequence: next(),
          headers: { [sessionHeaders.signature]: toHex(crypto.getRandomValues(new Uint8Array(65))) },
        }),
      401,
      "session_bad_signature",
    ],
    [
      "a signature by another key",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: next(), key: generatePrivateKey() }),
      401,
      "session_bad_signature",
    ],
    [
      "a signature over another body",
      () => post("/v1/chat/completions", chatBody({ max_tokens: 17 }), { session, sequence: next(), signBody: chatBody() }),
      401,
      "session_bad_signature",
    ],
    [
      "a signature for another sequence",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: next(), headers: { [sessionHeaders.sequence]: String(next() + 1n) } }),
      401,
      "session_bad_signature",
    ],
    [
      "a replayed sequence (validly signed)",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: BigInt(before.lastSequence) }),
      409,
      "session_replayed",
    ],
    [
      "an older sequence (validly signed)",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: BigInt(before.lastSequence) - 1n }),
      409,
      "session_replayed",
    ],
    [
      "a job that does not exist",
      () => post("/v1/chat/completions", chatBody(), { session: { ...session, jobId: 999_999n }, sequence: 1n }),
      404,
      "session_unknown",
    ],
    [
      "a receipt for more than was served",
      async () => {
        const cumulativeTokens = BigInt(before.servedTokens) + 1000n;
        const transcriptHash = keccak256(stringToBytes("forged"));
        const signature = await signCheckpoint(
          privateKeyToAccount(session.sessionKey),
          { chainId: session.chainId, marketplace: session.marketplace },
          { jobId: session.jobId, cumulativeTokens, transcriptHash },
        );
        return post(
          "/v1/session/receipt",
          JSON.stringify({ jobId: String(session.jobId), cumulativeTokens: String(cumulativeTokens), transcriptHash, signature }),
        );
      },
      409,
      "session_receipt_mismatch",
    ],
    [
      "a receipt signed by another key",
      async () => {
        const receipt = session.receipt!;
        const signature = await signCheckpoint(
          privateKeyToAccount(generatePrivateKey()),
          { chainId: session.chainId, marketplace: session.marketplace },
          { jobId: session.jobId, cumulativeTokens: receipt.cumulativeTokens, transcriptHash: receipt.transcriptHash },
        );
        return post(
          "/v1/session/receipt",
          JSON.stringify({
            jobId: String(session.jobId),
            cumulativeTokens: String(receipt.cumulativeTokens),
            transcriptHash: receipt.transcriptHash,
            signature,
          }),
        );
      },
      401,
      "session_bad_signature",
    ],
    [
      "a receipt with junk fields",
      () => post("/v1/session/receipt", JSON.stringify({ jobId: "1e3", cumulativeTokens: -1, transcriptHash: "0x12", signature: {} })),
      400,
      "invalid_request",
    ],
    [
      "a close signed by another key",
      () => post("/v1/session/close", JSON.stringify({ jobId: String(session.jobId) }), { session, sequence: next(), key: generatePrivateKey() }),
      401,
      "session_bad_signature",
    ],
    [
      "a request built on an older transcript (validly signed)",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: next(), transcriptHash: emptyTranscriptHash }),
      409,
      "session_out_of_sync",
    ],
    [
      "a request built on a made-up transcript (validly signed)",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: next(), transcriptHash: keccak256(stringToBytes("elsewhere")) }),
      409,
      "session_out_of_sync",
    ],
    [
      "a missing transcript header",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: next(), headers: { [sessionHeaders.transcript]: "" } }),
      400,
      "invalid_request",
    ],
    [
      "a short transcript header",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: next(), headers: { [sessionHeaders.transcript]: "0x1234" } }),
      400,
      "invalid_request",
    ],
    [
      "a signature over another transcript than the header",
      () => post("/v1/chat/completions", chatBody(), { session, sequence: next(), headers: { [sessionHeaders.transcript]: emptyTranscriptHash } }),
      401,
      "session_bad_signature",
    ],
    [
      "a sync signed as a chat request",
      () => post("/v1/session/sync", JSON.stringify({ jobId: String(session.jobId) }), { session, sequence: next(), signAs: "/v1/chat/completions" }),
      401,
      "session_bad_signature",
    ],
    [
      "a close signed as a sync",
      () => post("/v1/session/close", JSON.stringify({ jobId: String(session.jobId) }), { session, sequence: next(), signAs: "/v1/session/sync" }),
      401,
      "session_bad_signature",
    ],
    [
      "a sync signed by another key",
      () => post("/v1/session/sync", JSON.stringify({ jobId: String(session.jobId) }), { session, sequence: next(), key: generatePrivateKey() }),
      401,
      "session_bad_signature",
    ],
    [
      "a replayed sync (validly signed)",
      () => post("/v1/session/sync", JSON.stringify({ jobId: String(session.jobId) }), { session, sequence: BigInt(before.lastSequence) }),
      409,
      "session_replayed",
    ],
    [
      "a sync whose body names another job",
      () => post("/v1/session/sync", JSON.stringify({ jobId: "999999" }), { session, sequence: next() }),
      400,
      "invalid_request",
    ],
    ["a sync without session headers", () => post("/v1/session/sync", JSON.stringify({ jobId: String(session.jobId) })), 400, "invalid_request"],
  ] as const)("%s", async (_name, send, status, code) => {
    expectRefused(await send(), status, code);
    expect(await snapshot(session)).toEqual(before);
  });

  it("a session of another host gets 403 session_wrong_host", async () => {
    const foreign = await open({ host: privateKeyToAccount(otherHostKey).address });
    expectRefused(await post("/v1/chat/completions", chatBody(), { session: foreign, sequence: 1n }), 403, "session_wrong_host");
    expectRefused(
      await post("/v1/session/close", JSON.stringify({ jobId: String(foreign.jobId) }), { session: foreign, sequence: 1n }),
      403,
      "session_wrong_host",
    );
    expect((await fetch(`${host.url}/v1/session/${foreign.jobId}`)).status).toBe(404);
  });

  it("reaches the host through raw sockets: duplicate and injected headers are refused, malformed HTTP never reaches the session", async () => {
    const body = chatBody();
    const signature = await signSessionRequest(privateKeyToAccount(session.sessionKey), session, {
      jobId: session.jobId,
      sequence: next(),
      transcriptHash: session.transcriptHash,
      endpoint: "/v1/chat/completions",
      body: stringToBytes(body),
    });
    const request = (headerLines: string[]) =>
      [
        "POST /v1/chat/completions HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        `Content-Length: ${Buffer.byteLength(body)}`,
        "Connection: close",
        ...headerLines,
        "",
        body,
      ].join("\r\n");
    const good = [`X-Session-Sequence: ${next()}`, `X-Session-Transcript: ${session.transcriptHash}`, `X-Session-Signature: ${signature}`];

    // Two job ids (a header smuggled as a second line) arrive joined ("1, 999"): not a job id.
    let reply = await raw(request([`X-Session-Job-Id: ${session.jobId}`, "X-Session-Job-Id: 999", ...good]));
    expect(statusOf(reply)).toBe(400);
    expect(codeOf(reply)).toBe("invalid_request");
    // A job id with another job id glued on after whitespace, or a sequence with trailing junk.
    reply = await raw(request([`X-Session-Job-Id: ${session.jobId} 999`, ...good]));
    expect([statusOf(reply), codeOf(reply)]).toEqual([400, "invalid_request"]);
    reply = await raw(request([`X-Session-Job-Id: ${session.jobId}`, `X-Session-Sequence: ${next()};x=1`, `X-Session-Signature: ${signature}`]));
    expect([statusOf(reply), codeOf(reply)]).toEqual([400, "invalid_request"]);
    // Two signatures, the second one valid: joined, they are no signature.
    reply = await raw(
      request([`X-Session-Job-Id: ${session.jobId}`, `X-Session-Sequence: ${next()}`, `X-Session-Signature: 0x00`, `X-Session-Signature: ${signature}`]),
    );
    expect([statusOf(reply), codeOf(reply)]).toEqual([401, "session_bad_signature"]);
    // Malformed HTTP (a bare CR or a NUL inside a header value, a Content-Length that lies) is refused by the HTTP parser.
    for (const broken of [
      request([`X-Session-Job-Id: ${session.jobId}\rX-Evil: 1`, ...good]),
      request([`X-Session-Job-Id: ${session.jobId}\u0000`, ...good]),
      request([`X-Session-Job-Id: ${session.jobId}`, "Content-Length: 5", ...good]),
    ]) {
      reply = await raw(broken);
      expect([statusOf(reply), codeOf(reply)]).toEqual([400, "invalid_request"]);
    }
    // The properly formed request with the same sequence would still be accepted: none of the above consumed it.
    expect(await snapshot(session)).toEqual(before);
    expect((await fetch(`${host.url}/health`)).status).toBe(200);
  });
});

describe("every GET route and path parameter, hostile paths sent byte for byte", () => {
  // The host's GET routes; `:jobId` is its one path parameter.
  const getRoutes = ["/v1/models", "/v1/session/:jobId", "/health", "/ready", "/metrics"];
  const malformedEscapes = ["%", "%%", "%2", "%zz", "%G0", "%E0%A4%A", "%C0%AF", "%FF", "%ED%A0%80", "%F4%90%80%80", "1%", "1%2", "%%31"];
  const nonDecimal = [
    "0x10",
    "1e3",
    "-1",
    "+1",
    "1.0",
    "1_000",
    "%20%31",
    "%31%00",
    "1%2F2",
    "..%2F..%2Fhealth",
    "%D9%A1%D9%A2",
    "%EF%BC%91",
    "Infinity",
    "NaN",
    "receipt",
    "sync",
  ];
  const overlong = ["9".repeat(79), "1".repeat(4_000), "0".repeat(79), "%39".repeat(200)];
  const getRaw = (path: string) => raw(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);

  it.each([...malformedEscapes, ...nonDecimal, ...overlong])("GET /v1/session/%s is 400 invalid_request", async (jobId) => {
    const reply = await getRaw(`/v1/session/${jobId}`);
    expect([statusOf(reply), codeOf(reply)], reply.slice(0, 300)).toEqual([400, "invalid_request"]);
    expect(reply).toMatch(/\r\ncontent-type: application\/json/i);
  });

  it("a malformed escape anywhere in any GET path is a JSON error and the host keeps serving", async () => {
    for (const route of getRoutes) {
      for (const junk of [...malformedEscapes, "%39".repeat(200)]) {
        const variants = route.includes(":jobId")
          ? [route.replace(":jobId", `1/${junk}`), `${route.replace(":jobId", junk)}?x=${junk}`]
          : [`${route}${junk}`, `${route}/${junk}`, `${route}?q=${junk}`];
        for (const path of variants) {
          const reply = await getRaw(path);
          const status = statusOf(reply);
          // A query string is not part of the route: `/health?q=%` is /health. Anything else is refused in JSON.
          if (path.includes("?") && !route.includes(":jobId")) expect(status, `${path}: ${JSON.stringify(reply.slice(0, 300))}`).toBe(200);
          else {
            expect(status, `${path}: ${reply.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
            expect(status, path).toBeLessThan(500);
            expect(typeof codeOf(reply), path).toBe("string");
          }
        }
      }
    }
    expect((await fetch(`${host.url}/health`)).status).toBe(200);
  });

  it("fuzz: 200 random path segments on every GET route never answer 5xx or anything but JSON errors", async () => {
    const random = prng(Number(process.env.FUZZ_SEED ?? 0x9e7));
    const pieces = [
      "%",
      "%2",
      "%zz",
      "%ff",
      "%C3",
      "%C3%A9",
      "%00",
      "%2F",
      "/",
      "..",
      ".",
      "0",
      "9",
      "x",
      "0x",
      "-",
      "+",
      "e",
      "%E2%82%AC",
      "?",
      "#",
      "~",
      "%25",
      "9".repeat(40),
    ];
    const segment = () => Array.from({ length: 1 + Math.floor(random() * 6) }, () => pieces[Math.floor(random() * pieces.length)]!).join("");
    for (let i = 0; i < 200; i++) {
      const route = getRoutes[i % getRoutes.length]!;
      const path = route.includes(":jobId") ? route.replace(":jobId", segment()) : `${route}${random() < 0.5 ? "/" : ""}${segment()}`;
      const reply = await getRaw(path);
      const status = statusOf(reply);
      expect(status, `case ${i}: ${path}`).toBeLessThan(500);
      if (status !== 200) expect(typeof codeOf(reply), `case ${i}: ${path}`).toBe("string");
    }
    expect((await fetch(`${host.url}/health`)).status).toBe(200);
  });
});

/** A seeded PRNG (mulberry32), so a failing case can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("fuzz: 300 random bodies and headers", () => {
  it("never answers 5xx, always answers errors as JSON codes, and only a 200 changes what is served", async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 0x5e55);
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const int = (n: number) => Math.floor(random() * n);
    const session = await open();
    const junkValues: unknown[] = [
      null,
      true,
      0,
      -1,
      1.5,
      1e308,
      -0,
      "",
      "x".repeat(int(3000)),
      [],
      {},
      [[[]]],
      { a: { b: {} } },
      "\u0000",
      "\ud800",
      "💥",
      2 ** 53,
      "NaN",
    ];
    const junk = (): unknown => (random() < 0.7 ? pick(junkValues) : { [pick(["role", "content", "messages", "__proto__", "constructor"])]: pick(junkValues) });
    const mutateBody = (): string | Uint8Array => {
      const base: Record<string, unknown> = { messages: [{ role: "user", content: "Genesis 1:1" }], max_tokens: 1 + int(8) };
      const ops = int(4);
      for (let i = 0; i < ops; i++) {
        const field = pick([
          "messages",
          "max_tokens",
          "max_completion_tokens",
          "model",
          "stream",
          "stop",
          "temperature",
          "seed",
          "n",
          "tools",
          "stream_options",
          "__proto__",
        ]);
        if (random() < 0.3) delete base[field];
        else if (field === "messages" && random() < 0.5)
          base.messages = [{ role: pick(["user", "system", "assistant", "developer", "tool", 1]), content: junk() }];
        else base[field] = junk();
      }
      let text = JSON.stringify(base);
      const shape = int(10);
      if (shape === 0) text = text.slice(0, int(text.length));
      if (shape === 1) text = text.replace(/[{}[\]":,]/, pick(["", "{", "]", "\\", "\u0000"]));
      if (shape === 2) return crypto.getRandomValues(new Uint8Array(int(200)));
      if (shape === 3) return pick(["", "null", "1", '"s"', "[]", "{}", "{".repeat(5000), "x".repeat(maxBodyBytes + 1)]);
      return text;
    };
    let servedBy200 = 0n;
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const path = pick([
        "/v1/chat/completions",
        "/v1/chat/completions",
        "/v1/chat/completions",
        "/v1/session/receipt",
        "/v1/session/close",
        "/v1/session/sync",
      ]);
      // A sync body names the job (or not); the rest are mutated chat bodies.
      const body =
        path === "/v1/session/sync" && random() < 0.5
          ? JSON.stringify({ jobId: pick([String(session.jobId), session.jobId.toString(16), "1", 7]) })
          : mutateBody();
      const signIt = random() < 0.5;
      const headers: Record<string, string> = {};
      if (random() < 0.2) headers["content-type"] = pick(["text/plain", "application/jsonx", "multipart/form-data", "", "application/json; charset=latin1"]);
      if (random() < 0.2)
        headers[sessionHeaders.jobId] = pick([String(session.jobId), "", "0", "-1", "1e2", "99999999999999999999999999999999", " 1", "1\t", "1 "]);
      if (random() < 0.2) headers[sessionHeaders.sequence] = pick(["0", "1", "-1", "18446744073709551616", "abc", "", String(session.sequence)]);
      if (random() < 0.1) headers[sessionHeaders.transcript] = pick(["", "0x", "0x00", emptyTranscriptHash, "0x" + "zz".repeat(32), "0x" + "ab".repeat(33)]);
      if (random() < 0.2)
        headers[sessionHeaders.signature] = pick(["", "0x", "0x00", toHex(crypto.getRandomValues(new Uint8Array(65))), "0x" + "f".repeat(130)]);
      const sequence = signIt ? session.sequence + 1n + BigInt(int(3)) : undefined;
      const reply = await post(path, body, signIt ? { session, sequence, headers } : { headers });
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      if (reply.status >= 500 || (reply.status !== 200 && (reply.status < 400 || typeof reply.json.error?.code !== "string")))
        throw new Error(
          `seed ${seed} case ${i}: ${path} answered ${reply.status} ${JSON.stringify(reply.json).slice(0, 300)} to ${typeof body === "string" ? body.slice(0, 300) : toHex(body)}`,
        );
      if (reply.status === 200 && path === "/v1/chat/completions") {
        if (sequence !== undefined && sequence > session.sequence) session.sequence = sequence;
        const usage = reply.contentType.startsWith("text/event-stream")
          ? [...String(reply.json.raw).matchAll(/"total_tokens":(\d+)/g)].map((m) => BigInt(m[1]!)).pop()
          : BigInt((reply.json.usage as { total_tokens: number }).total_tokens);
        servedBy200 += usage ?? 0n;
        // The next signed request builds on the transcript this answer ended at.
        const transcript = reply.contentType.startsWith("text/event-stream")
          ? [...String(reply.json.raw).matchAll(/"transcriptHash":"(0x[0-9a-f]{64})"/g)].map((m) => m[1] as Hex).pop()
          : (reply.json.session as { transcriptHash: Hex } | undefined)?.transcriptHash;
        if (transcript) session.transcriptHash = transcript;
      }
    }
    expect((await fetch(`${host.url}/health`)).status).toBe(200);
    console.log(`fuzz seed ${seed}: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, ${servedBy200} tokens served by 200s`);
    // Only answered requests added served tokens; nothing was ever signed, so nothing can be proven.
    const view = await fetch(`${host.url}/v1/session/${session.jobId}`);
    if (servedBy200 === 0n) expect(view.status).toBe(404);
    else {
      const json = (await view.json()) as HostSessionView;
      expect(BigInt(json.servedTokens)).toBe(servedBy200);
      expect(json.signedTokens).toBe("0");
    }
    // Most cases are refusals, of several kinds.
    expect([...statuses.keys()].filter((status) => status >= 400).length).toBeGreaterThanOrEqual(4);
  }, 55_000);
});

describe("sessions that ended", () => {
  it("a settled session is refused with session_not_active for chat, close and receipts", async () => {
    const session = await open();
    await chat(session, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 16 });
    const settled = await closeSession(walletFor(network, demoKeys.user), { session });
    expect(settled.provenTokens).toBe(session.cumulativeTokens);
    const before = await snapshot(session);
    expect(before.chainStatus).toBe("completed");
    expectRefused(await post("/v1/chat/completions", chatBody(), { session, sequence: session.sequence + 1n }), 409, "session_not_active");
    expectRefused(
      await post("/v1/session/close", JSON.stringify({ jobId: String(session.jobId) }), { session, sequence: session.sequence + 1n }),
      409,
      "session_not_active",
    );
    expect(await snapshot(session)).toEqual(before);
  });

  it("a session past its maxDuration is refused with session_not_active", async () => {
    const session = await open({ maxDuration: 60n });
    await chat(session, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 16 });
    const before = await snapshot(session);
    // Only the chain's clock moves: the host judges the duration by it, once it has read that block.
    await timeTravel(network, 61);
    await untilHostSeesHead(network, host.url);
    expectRefused(await post("/v1/chat/completions", chatBody(), { session, sequence: session.sequence + 1n }), 409, "session_not_active");
    expect(await snapshot(session)).toEqual(before);
  });
});
