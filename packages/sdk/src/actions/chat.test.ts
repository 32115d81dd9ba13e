import { getEventListeners } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generatePrivateKey } from "viem/accounts";
import { SessionBadSignatureError, SessionOutOfSyncError, SessionReplayedError } from "../errors/host.ts";
import { InvalidChatParametersError, SessionDisputedError, TokenCountMismatchError } from "../errors/session.ts";
import { deserializeSession, serializeSession } from "../session/serialization.ts";
import type { Session } from "../session/types.ts";
import { startOffChainSession } from "../testUtils/offChainSession.ts";
import { countPromptTokens, generateWords, requestLines, type TestHost } from "../testUtils/testHost.ts";
import { chat, type ChatMessage } from "./chat.ts";
import { streamChat } from "./streamChat.ts";
import { syncSession } from "./syncSession.ts";

let session: Session;
let host: TestHost;
beforeEach(async () => ({ session, host } = await startOffChainSession()));
afterEach(() => host.stop());

const messages = [{ role: "user" as const, content: "In the beginning" }];

describe("chat", () => {
  it("returns the answer and leaves the host a receipt for exactly what it served", async () => {
    const result = await chat(session, { messages, maxTokens: 8 });
    expect(result.text).toBe(generateWords("In the beginning", 8).join(""));
    expect(result.promptTokens).toBe(countPromptTokens(messages));
    expect(result.completionTokens).toBe(8);
    expect(result.cumulativeTokens).toBe(BigInt(result.promptTokens + 8));
    expect(host.receipts.get(1n)).toEqual({
      cumulativeTokens: result.cumulativeTokens,
      transcriptHash: result.transcriptHash,
      signature: result.receipt.signature,
    });
    expect(session.receipt?.delivered).toBe(true);

    const second = await chat(session, { messages: [...messages, { role: "assistant", content: result.text }, { role: "user", content: "Go on" }] });
    expect(second.cumulativeTokens).toBe(result.cumulativeTokens + BigInt(second.promptTokens + second.completionTokens));
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(second.cumulativeTokens);
  });

  it("signs no receipt for an overclaiming host and refuses to go on with the session", async () => {
    await chat(session, { messages, maxTokens: 4 });
    const signedBefore = host.receipts.get(1n);
    host.behaviour.overclaimTokens = 500;
    const error = await chat(session, { messages, maxTokens: 4 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenCountMismatchError);
    expect((error as TokenCountMismatchError).violations.map((violation) => violation.field)).toContain("completionTokens");
    expect(host.receipts.get(1n)).toEqual(signedBefore);
    expect(session.cumulativeTokens).toBe(signedBefore?.cumulativeTokens);
    await expect(chat(session, { messages })).rejects.toBeInstanceOf(SessionDisputedError);
  });

  it("bounds completion tokens by max_tokens", async () => {
    host.behaviour.overclaimTokens = 1;
    const error = await chat(session, { messages: [{ role: "user", content: "x".repeat(400) }], maxTokens: 30 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenCountMismatchError);
    expect((error as TokenCountMismatchError).violations).toEqual([expect.objectContaining({ field: "completionTokens", claimed: 31n, limit: 30n })]);
  });

  it("is refused by the host when signed with a key that is not the session signer", async () => {
    const impostor = { ...session, sessionKey: generatePrivateKey() };
    await expect(chat(impostor, { messages })).rejects.toBeInstanceOf(SessionBadSignatureError);
    expect(host.refusals).toEqual(["session_bad_signature"]);
    expect(host.receipts.size).toBe(0);
  });

  it("does not act on a replayed refusal once in step with the host: it throws, and syncs or signs nothing on the host's say-so", async () => {
    const first = await chat(session, { messages });
    session.sequence = 0n;
    await expect(chat(session, { messages })).rejects.toBeInstanceOf(SessionReplayedError);
    expect(host.refusals).toEqual(["session_replayed"]);
    expect(requestLines(host)).toEqual(["POST /v1/chat/completions 200", "POST /v1/session/receipt 200", "POST /v1/chat/completions session_replayed"]);
    expect(session).toMatchObject({ cumulativeTokens: first.cumulativeTokens, resync: false });
    expect(session.dispute).toBeUndefined();
    // Asked explicitly, a sync learns the host's sequence; the session goes on.
    await syncSession(session);
    const second = await chat(session, { messages });
    expect(second.cumulativeTokens).toBe(first.cumulativeTokens + BigInt(second.promptTokens + second.completionTokens));
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(second.cumulativeTokens);
  });

  it("does not believe an out-of-sync refusal of a request built on the host's own transcript (else a host could refuse, then bill it as served)", async () => {
    const first = await chat(session, { messages });
    const lying: typeof fetch = async (input, init) =>
      String(input).endsWith("/v1/chat/completions")
        ? new Response(JSON.stringify({ error: { message: "missed something", type: "invalid_request_error", code: "session_out_of_sync" } }), { status: 409 })
        : fetch(input, init);
    await expect(chat(session, { messages, fetch: lying })).rejects.toBeInstanceOf(SessionOutOfSyncError);
    // No sync was run and nothing was signed; the next request goes straight out.
    expect(requestLines(host)).toEqual(["POST /v1/chat/completions 200", "POST /v1/session/receipt 200"]);
    expect(session).toMatchObject({ cumulativeTokens: first.cumulativeTokens, receipt: first.receipt, resync: false });
    await chat(session, { messages });
    expect(requestLines(host).slice(2)).toEqual(["POST /v1/chat/completions 200", "POST /v1/session/receipt 200"]);
  });

  it("a copy restored from older saved state syncs before its first request, so it builds on the host's transcript", async () => {
    const twin = deserializeSession(serializeSession(session));
    expect(twin.restored).toBe(true);
    const first = await chat(session, { messages });
    const second = await chat(twin, { messages });
    expect(host.refusals).toEqual([]);
    expect(requestLines(host).slice(2)).toEqual([
      "GET /v1/session/1 200",
      "POST /v1/session/sync 200",
      "POST /v1/chat/completions 200",
      "POST /v1/session/receipt 200",
    ]);
    expect(second.cumulativeTokens).toBe(first.cumulativeTokens + BigInt(second.promptTokens + second.completionTokens));
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(second.cumulativeTokens);
  });

  it("resumes from serialised state", async () => {
    const first = await chat(session, { messages });
    const resumed = deserializeSession(serializeSession(session));
    expect(resumed).toEqual({ ...session, restored: true });
    expect(serializeSession(resumed)).toBe(serializeSession(session));
    const second = await chat(resumed, { messages });
    expect(second.cumulativeTokens).toBe(first.cumulativeTokens + BigInt(second.promptTokens + second.completionTokens));
  });

  it("keeps a receipt the host did not get and sends it before the next request", async () => {
    const unreachableForReceipts: typeof fetch = (input, init) =>
      String(input).endsWith("/v1/session/receipt") ? Promise.reject(new TypeError("fetch failed")) : fetch(input, init);
    const first = await chat(session, { messages, fetch: unreachableForReceipts });
    expect(first.receipt.delivered).toBe(false);
    expect(host.receipts.size).toBe(0);
    await chat(session, { messages });
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(session.cumulativeTokens);
  });

  it("serialises concurrent requests so sequence numbers and receipts stay in order", async () => {
    const results = await Promise.all([1, 2, 3].map((n) => chat(session, { messages: [{ role: "user", content: `prompt ${n}` }] })));
    expect(results.map((result) => result.cumulativeTokens)).toEqual([...results.map((result) => result.cumulativeTokens)].sort((a, b) => Number(a - b)));
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(results[2]!.cumulativeTokens);
  });
});

describe("chat and streamChat with a maxTokens that is not a positive integer", () => {
  const bad = [Number.NaN, Number.POSITIVE_INFINITY, -1, 0, 2.5, 2 ** 53];
  it.each(bad)("maxTokens %s: a one-line InvalidChatParametersError, nothing signed or sent", async (maxTokens) => {
    for (const send of [
      () => chat(session, { messages, maxTokens }),
      () => streamChat(session, { messages, maxTokens }).result,
      () => chat(session, { messages, body: { max_tokens: maxTokens } }),
      () => chat(session, { messages, body: { max_completion_tokens: maxTokens } }),
    ]) {
      const error = await Promise.resolve()
        .then(send)
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(error).toBeInstanceOf(InvalidChatParametersError);
      expect((error as InvalidChatParametersError).shortMessage).toMatch(/^(maxTokens|max_tokens|max_completion_tokens) must be a positive integer, not .+\.$/);
    }
    expect(host.requests).toEqual([]);
    expect(session.sequence).toBe(0n);
  });

  it("a refused streamChat leaves no listener on the caller's signal", () => {
    const signal = new AbortController().signal;
    for (let attempt = 0; attempt < 3; attempt++)
      expect(() => streamChat(session, { messages, maxTokens: Number.NaN, signal })).toThrow(InvalidChatParametersError);
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
  });
});

describe("ChatMessage", () => {
  it("types role as the host takes it: system, user, assistant, developer, not tool (tsc checks this test)", () => {
    const accepted: ChatMessage[] = [
      { role: "system", content: "x" },
      { role: "user", content: "x" },
      { role: "assistant", content: "x" },
      { role: "developer", content: "x" },
    ];
    // @ts-expect-error -- the host refuses a tool message: a session serves no tool calls
    const tool: ChatMessage = { role: "tool", content: "x" };
    expect([...accepted, tool]).toHaveLength(5);
  });
});
