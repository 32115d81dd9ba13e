import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommon, createHostNode, type HostConfig, type HostNode } from "@session-jobs/host";
import { createEmbeddedBackend, type ChatBackend } from "@session-jobs/inference";
import { chat, deserializeSession, serializeSession, streamChat, syncSession, type Session } from "@session-jobs/sdk";
import type { LocalNetwork } from "../../src/demo/localNetwork.ts";
import {
  breakOffStream,
  freePort,
  hostConfigInput,
  hostView,
  openUserSession,
  register,
  startNetwork,
  waitForAbortedExchange,
  type HostSessionView,
} from "./harness.ts";
import { closeExactly as closeSettledExactly } from "./stack.ts";

// Client faults: the client process dies and a new one resumes the session from what it saved
// (serializeSession), between exchanges or in the middle of a stream (it syncs with the host:
// POST /v1/session/sync); and a receipt the host never got (it was down at that moment) is resent
// by the SDK on the next request, after the host came back on the same database and port.

let network: LocalNetwork;
let backend: ChatBackend;
let config: HostConfig;
let dir: string;
let node: HostNode | undefined;
let url: string;

async function startNode(): Promise<void> {
  node = createHostNode({
    common: createCommon({ logLevel: (process.env.RELIABILITY_LOG_LEVEL as "error" | undefined) ?? "error" }),
    config,
    backend,
    shutdownGraceMs: 1_000,
  });
  url = await node.start();
}
async function stopNode(): Promise<void> {
  await node?.stop();
  node = undefined;
}

beforeAll(async () => {
  network = await startNetwork();
  backend = await createEmbeddedBackend();
  dir = mkdtempSync(join(tmpdir(), "session-jobs-resume-"));
  const port = await freePort();
  // Nothing is proven before close unless a full interval is due (no idle flush), so that close
  // has to prove the newest receipt the host holds.
  config = await register(hostConfigInput(network, dir, port, { batch: { delayMs: 0, idleFlushSeconds: 3_600 } }));
  await startNode();
}, 45_000);
afterAll(async () => {
  await stopNode();
  await backend?.close();
  await network?.anvil.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** GET /v1/session/:id also reports the host's transcript hash (README, Endpoints); the harness type leaves it out. */
const hostTranscriptHash = (view: HostSessionView) => (view as HostSessionView & { transcriptHash: string }).transcriptHash;

const prompts = ["Genesis 1:1", "And God said", "In the beginning", "And the earth was", "Let there be light"];

const open = (proofInterval = 1_000n) => openUserSession(network, proofInterval);

const closeExactly = (session: Session) => closeSettledExactly(network, session);

/** A fetch that records the paths it is asked for, and can run something before one of them. */
function recordingFetch(before?: { path: string; run: () => Promise<void> }) {
  const paths: string[] = [];
  let fired = false;
  const wrapped: typeof globalThis.fetch = async (input, init) => {
    const path = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url).pathname;
    paths.push(path);
    if (before && !fired && path === before.path) {
      fired = true;
      await before.run();
    }
    return globalThis.fetch(input, init);
  };
  return { fetch: wrapped, paths };
}

/** One exchange whose receipt never reaches the host: the node is stopped just before the SDK posts it. */
async function chatWithReceiptLost(session: Session) {
  const lost = recordingFetch({ path: "/v1/session/receipt", run: stopNode });
  const result = await chat(session, { messages: [{ role: "user", content: "And the evening and the morning" }], maxTokens: 30, fetch: lost.fetch });
  expect(lost.paths).toEqual(["/v1/chat/completions", "/v1/session/receipt"]);
  expect(result.receipt.delivered).toBe(false);
  expect(session.receipt?.delivered).toBe(false);
  expect(session.cumulativeTokens).toBe(result.cumulativeTokens);
  return result;
}

describe("client reconnect and resume", () => {
  // (Merged with clientResume.test.ts "between exchanges": a checkpoint interval of 100 so that the
  // resumed client goes on past a checkpoint proof, and signs on without a dispute.)
  it("a client that saved its session dies between exchanges; a new one resumes from the last receipt, sequence and transcript continue, and settlement is exact", async () => {
    const session = await open(100n);
    for (const content of prompts.slice(0, 2)) await chat(session, { messages: [{ role: "user", content }], maxTokens: 30 });
    const saved = serializeSession(session);
    const before = { sequence: session.sequence, transcriptHash: session.transcriptHash, cumulativeTokens: session.cumulativeTokens, jobId: session.jobId };
    expect(session.receipt?.delivered).toBe(true);
    // The process dies: nothing survives but the saved JSON.

    const resumed = deserializeSession(saved);
    expect(resumed).toMatchObject(before);
    const view = await hostView(url, resumed.jobId);
    // Only signed requests (chats here) spend sequence numbers; receipts carry their own signature.
    expect(view.lastSequence).toBe(before.sequence.toString());
    expect(BigInt(view.signedTokens)).toBe(before.cumulativeTokens);
    expect(hostTranscriptHash(view)).toBe(before.transcriptHash);

    const next = await chat(resumed, { messages: [{ role: "user", content: prompts[2]! }], maxTokens: 30 });
    expect(resumed.sequence).toBeGreaterThan(before.sequence);
    expect(next.cumulativeTokens).toBe(before.cumulativeTokens + BigInt(next.promptTokens + next.completionTokens));
    expect(next.receipt.delivered).toBe(true);
    const after = await hostView(url, resumed.jobId);
    // The host accepted the receipt: its own transcript hash chained from the same point.
    expect(BigInt(after.signedTokens)).toBe(resumed.cumulativeTokens);
    // The restored session synced first (one signed request), then chatted.
    expect(after.lastSequence).toBe((before.sequence + 2n).toString());
    expect(resumed.sequence).toBe(before.sequence + 2n);
    expect(after.unsignedTokens).toBe("0");
    expect(hostTranscriptHash(after)).toBe(resumed.transcriptHash);
    for (let i = 0; resumed.cumulativeTokens < 150n; i++) {
      expect(i).toBeLessThan(10);
      await chat(resumed, { messages: [{ role: "user", content: prompts[i % prompts.length]! }], maxTokens: 30 });
    }
    expect(resumed.dispute).toBeUndefined();
    expect(BigInt((await hostView(url, resumed.jobId)).signedTokens)).toBe(resumed.cumulativeTokens);
    await closeExactly(resumed);
  }, 40_000);

  // The host counts a stream the client broke off (it was written, so it is billed and in the
  // transcript), but the client died before it saw it end and has no receipt for it. The process
  // that comes back from saved state syncs: the host shows its record of the answer, the client
  // checks it was its own request at that point of the transcript and that the count is within
  // bounds, signs for it, and goes on.
  async function dieMidStream(session: Session, onFirstDelta?: () => void) {
    const controller = new AbortController();
    // Greedy decoding runs on to max_tokens, so the answer is still going when the client dies (a sampled one can end first).
    const stream = streamChat(session, {
      messages: [{ role: "user", content: "And God said" }],
      maxTokens: 300,
      body: { temperature: 0 },
      signal: controller.signal,
    });
    await breakOffStream(
      stream,
      5,
      () => controller.abort(),
      (count) => count === 1 && onFirstDelta?.(),
    );
    await stream.result.catch(() => undefined);
    return waitForAbortedExchange(url, session.jobId);
  }

  it("a client that dies mid-stream and resumes from state saved before that request catches up and goes on; settlement is exact", async () => {
    const first = await open(100n);
    await chat(first, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 20 });
    const saved = serializeSession(first);
    const signed = first.cumulativeTokens;
    const broken = await dieMidStream(first);
    const billed = BigInt(broken.servedTokens) - signed;
    expect(billed).toBeGreaterThan(0n);
    expect(broken.signedTokens).toBe(signed.toString());

    // The restored session syncs before its first request: it learns the host's sequence, checks
    // and signs for the broken-off answer, then sends its request.
    const resumed = deserializeSession(saved);
    const seen = recordingFetch();
    const next = await chat(resumed, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 20, fetch: seen.fetch });
    expect(seen.paths).toEqual([`/v1/session/${resumed.jobId}`, "/v1/session/sync", "/v1/session/receipt", "/v1/chat/completions", "/v1/session/receipt"]);
    expect(next.cumulativeTokens).toBe(signed + billed + BigInt(next.promptTokens + next.completionTokens));
    // The app learns what its dead predecessor missed: the broken-off answer, as the host wrote it.
    expect(next.recovered).toHaveLength(1);
    expect(next.recovered[0]).toMatchObject({
      aborted: true,
      cumulativeTokens: signed + billed,
      request: { messages: [{ role: "user", content: "And God said" }] },
    });
    expect(next.recovered[0]!.text.length).toBeGreaterThan(0);
    expect(resumed.dispute).toBeUndefined();
    const view = await hostView(url, resumed.jobId);
    expect(BigInt(view.signedTokens)).toBe(resumed.cumulativeTokens);
    expect(view.unsignedTokens).toBe("0");
    expect(hostTranscriptHash(view)).toBe(resumed.transcriptHash);

    // It keeps going past a checkpoint proof, then settles exactly what it signed.
    for (let i = 0; resumed.cumulativeTokens < 150n; i++) {
      expect(i).toBeLessThan(10);
      await chat(resumed, { messages: [{ role: "user", content: prompts[i % prompts.length]! }], maxTokens: 30 });
    }
    await closeExactly(resumed);
  }, 40_000);

  it("a client that saved its state during the stream (its sequence already spent) catches up the same way and goes on", async () => {
    const first = await open(100n);
    await chat(first, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 20 });
    let saved = "";
    const broken = await dieMidStream(first, () => (saved = serializeSession(first)));
    const resumed = deserializeSession(saved);
    expect(resumed.sequence).toBe(BigInt(broken.lastSequence));

    const seen = recordingFetch();
    const next = await chat(resumed, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 20, fetch: seen.fetch });
    expect(seen.paths.filter((path) => path === "/v1/session/sync")).toHaveLength(1);
    expect(next.recovered).toMatchObject([{ aborted: true }]);
    expect(next.cumulativeTokens).toBe(BigInt(broken.servedTokens) + BigInt(next.promptTokens + next.completionTokens));
    expect(BigInt((await hostView(url, resumed.jobId)).signedTokens)).toBe(resumed.cumulativeTokens);
    await closeExactly(resumed);
  }, 40_000);

  // Newcomer finding #1: the SDK read an answer to its end and delivered a receipt for it after the
  // app saved; the app died. The host's newest receipt is the client's own signature, but the text
  // it signed for is what the user paid for: the restored client gets it back as `recovered`.
  it("a client restored from state saved before an answer it signed and delivered gets that answer's text back, signing nothing new for it", async () => {
    const session = await open(1_000n);
    await chat(session, { messages: [{ role: "user", content: prompts[0]! }], maxTokens: 20 });
    const saved = serializeSession(session);
    const paid = await chat(session, { messages: [{ role: "user", content: prompts[1]! }], maxTokens: 20 });
    expect(paid.receipt.delivered).toBe(true);

    const resumed = deserializeSession(saved);
    const seen = recordingFetch();
    const next = await chat(resumed, { messages: [{ role: "user", content: prompts[2]! }], maxTokens: 20, fetch: seen.fetch });
    // The host's receipt is adopted, not signed again: no receipt is posted before the chat.
    expect(seen.paths).toEqual([`/v1/session/${resumed.jobId}`, "/v1/session/sync", "/v1/chat/completions", "/v1/session/receipt"]);
    expect(next.recovered).toEqual([
      expect.objectContaining({
        text: paid.text,
        aborted: false,
        promptTokens: paid.promptTokens,
        completionTokens: paid.completionTokens,
        cumulativeTokens: paid.cumulativeTokens,
        transcriptHash: paid.transcriptHash,
        request: expect.objectContaining({ messages: [{ role: "user", content: prompts[1]! }] }),
        signedBefore: true,
      }),
    ]);
    expect(next.cumulativeTokens).toBe(paid.cumulativeTokens + BigInt(next.promptTokens + next.completionTokens));
    expect(resumed.dispute).toBeUndefined();
    expect(BigInt((await hostView(url, resumed.jobId)).signedTokens)).toBe(resumed.cumulativeTokens);
    await closeExactly(resumed);
  }, 40_000);

  it("a client that resumes from state older than its newest delivered receipt adopts that receipt (its own signature), gets back the answers the host still keeps, and goes on", async () => {
    const session = await open(1_000n);
    await chat(session, { messages: [{ role: "user", content: prompts[0]! }], maxTokens: 20 });
    const stale = serializeSession(session);
    const lost = await chat(session, { messages: [{ role: "user", content: prompts[1]! }], maxTokens: 20 });
    const last = await chat(session, { messages: [{ role: "user", content: prompts[2]! }], maxTokens: 20 });
    const newest = session.receipt!;

    const resumed = deserializeSession(stale);
    const { recovered, unrecoveredTokens, receipt } = await syncSession(resumed);
    // The host keeps the text its newest receipt alone covers (the receipt before it dropped the
    // rest): the last answer comes back, the one before it is gone, and the result says how much.
    expect(recovered).toEqual([
      expect.objectContaining({ text: last.text, cumulativeTokens: last.cumulativeTokens, transcriptHash: last.transcriptHash, signedBefore: true }),
    ]);
    expect(unrecoveredTokens).toBe(BigInt(lost.promptTokens + lost.completionTokens));
    expect(receipt).toMatchObject({ cumulativeTokens: newest.cumulativeTokens, transcriptHash: newest.transcriptHash, signature: newest.signature });
    expect(resumed.cumulativeTokens).toBe(session.cumulativeTokens);
    expect(resumed.transcriptHash).toBe(session.transcriptHash);
    expect(resumed.sequence).toBeGreaterThanOrEqual(session.sequence);
    await chat(resumed, { messages: [{ role: "user", content: prompts[3]! }], maxTokens: 20 });
    expect(BigInt((await hostView(url, resumed.jobId)).signedTokens)).toBe(resumed.cumulativeTokens);
    await closeExactly(resumed);
  }, 40_000);

  it("a receipt the host never got (host down; restarted on the same database and port) is resent on the next chat and paid for", async () => {
    const session = await open();
    await chat(session, { messages: [{ role: "user", content: prompts[0]! }], maxTokens: 30 });
    const deliveredTokens = session.cumulativeTokens;
    await chatWithReceiptLost(session);
    const undelivered = session.cumulativeTokens;
    expect(undelivered).toBeGreaterThan(deliveredTokens);

    // The client also dies and resumes from what it saved, undelivered receipt included.
    const resumed = deserializeSession(serializeSession(session));
    expect(resumed.receipt).toMatchObject({ cumulativeTokens: undelivered, delivered: false });

    await startNode();
    const recovered = await hostView(url, resumed.jobId);
    expect(BigInt(recovered.servedTokens)).toBe(undelivered);
    expect(BigInt(recovered.signedTokens)).toBe(deliveredTokens);

    // The next request resends the pending receipt first (the host stores it), syncs as a restored
    // session does (nothing missed), then is served.
    const next = recordingFetch();
    const answer = await chat(resumed, { messages: [{ role: "user", content: prompts[1]! }], maxTokens: 30, fetch: next.fetch });
    expect(next.paths).toEqual(["/v1/session/receipt", `/v1/session/${resumed.jobId}`, "/v1/session/sync", "/v1/chat/completions", "/v1/session/receipt"]);
    expect(answer.recovered).toEqual([]);
    expect(BigInt((await hostView(url, resumed.jobId)).signedTokens)).toBe(resumed.cumulativeTokens);
    await closeExactly(resumed);
  }, 40_000);

  it("a receipt the host never got is resent at close and the host is paid for it (it is the newest receipt)", async () => {
    const session = await open();
    await chat(session, { messages: [{ role: "user", content: prompts[3]! }], maxTokens: 30 });
    const deliveredTokens = session.cumulativeTokens;
    await chatWithReceiptLost(session);
    await startNode();
    expect(BigInt((await hostView(url, session.jobId)).signedTokens)).toBe(deliveredTokens);

    // Nothing else is asked: the close resends the receipt, and the host proves it in the settlement.
    await closeExactly(session);
    expect(session.cumulativeTokens).toBeGreaterThan(deliveredTokens);
    expect(BigInt((await hostView(url, session.jobId)).provenTokens)).toBe(session.cumulativeTokens);
  }, 40_000);
});
