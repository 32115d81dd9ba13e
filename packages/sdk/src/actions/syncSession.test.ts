import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import {
  HostAnswerTooLargeError,
  SessionDisputedError,
  SessionProtocolError,
  TokenCountMismatchError,
  TranscriptMismatchError,
  UndeliveredAnswersError,
  UnrecordedAnswersError,
} from "../errors/session.ts";
import { signCheckpoint } from "@session-jobs/protocol";
import { deserializeSession, serializeSession } from "../session/serialization.ts";
import { maxAnswerBytes } from "../session/readBody.ts";
import type { Session } from "../session/types.ts";
import { endlessAnswerAt } from "../testUtils/endlessAnswer.ts";
import { offChainDomain, startOffChainSession } from "../testUtils/offChainSession.ts";
import { generateWords, requestLines, type TestHost } from "../testUtils/testHost.ts";
import { chat, type ChatErrorType } from "./chat.ts";
import { streamChat, type StreamChatErrorType } from "./streamChat.ts";
import { syncSession, type SyncSessionErrorType } from "./syncSession.ts";

let session: Session;
let host: TestHost;
beforeEach(async () => ({ session, host } = await startOffChainSession()));
afterEach(() => host.stop());

const messages = [{ role: "user" as const, content: "And the earth" }];

/** A streamed answer whose connection breaks after `words` words: the client never sees its end. */
async function breakStream(target: Session, words: number) {
  host.behaviour.breakStreamAfterWords = words;
  try {
    await expect(streamChat(target, { messages, maxTokens: 8 }).result).rejects.toThrow();
  } finally {
    host.behaviour.breakStreamAfterWords = undefined;
  }
  expect(host.exchanges.get(1n)?.at(-1)).toMatchObject({ aborted: true, completionTokens: words });
}

describe("syncSession", () => {
  it("recovers the part of an aborted stream the host delivered and signs one receipt for it", async () => {
    host.behaviour.wordDelayMs = 5;
    const controller = new AbortController();
    const stream = streamChat(session, { messages, maxTokens: 12, signal: controller.signal });
    const received: string[] = [];
    const consume = async () => {
      for await (const delta of stream) if (received.push(delta) === 3) controller.abort();
    };
    await expect(consume()).rejects.toThrow();
    expect(session.resync).toBe(true);

    const { recovered, cumulativeTokens, receipt } = await syncSession(session);
    expect(recovered).toHaveLength(1);
    const [exchange] = recovered;
    expect(exchange).toMatchObject({
      sequence: 1n,
      aborted: true,
      promptTokens: 0,
      request: expect.objectContaining({ messages, max_tokens: 12, stream: true }),
    });
    expect(exchange!.completionTokens).toBeGreaterThanOrEqual(3);
    expect(exchange!.text).toBe(generateWords("And the earth", 12).slice(0, exchange!.completionTokens).join(""));
    expect(exchange!.text.startsWith(received.join(""))).toBe(true);
    expect(cumulativeTokens).toBe(BigInt(exchange!.completionTokens));
    expect(receipt).toMatchObject({ cumulativeTokens, transcriptHash: exchange!.transcriptHash, delivered: true });
    expect(host.receipts.get(1n)).toEqual({ cumulativeTokens, transcriptHash: exchange!.transcriptHash, signature: receipt!.signature });
    expect(session).toMatchObject({ resync: false, cumulativeTokens, transcriptHash: exchange!.transcriptHash });
    expect(session.dispute).toBeUndefined();
  });

  it("lets a client resumed from state saved before an exchange it never saw end go on with a plain chat", async () => {
    const first = await chat(session, { messages, maxTokens: 4 });
    const saved = serializeSession(session);
    await breakStream(session, 3);
    const requestsBefore = host.requests.length;

    const resumed = deserializeSession(saved);
    const third = await chat(resumed, { messages, maxTokens: 4 });
    // A restored session syncs before its first request: no refused request on the way.
    expect(requestLines(host).slice(requestsBefore)).toEqual([
      "GET /v1/session/1 200",
      "POST /v1/session/sync 200",
      "POST /v1/session/receipt 200",
      "POST /v1/chat/completions 200",
      "POST /v1/session/receipt 200",
    ]);
    expect(third.cumulativeTokens).toBe(first.cumulativeTokens + 3n + BigInt(third.promptTokens + third.completionTokens));
    expect(third.recovered).toMatchObject([{ aborted: true, completionTokens: 3, cumulativeTokens: first.cumulativeTokens + 3n }]);
    expect(host.receipts.get(1n)).toEqual({
      cumulativeTokens: third.cumulativeTokens,
      transcriptHash: third.transcriptHash,
      signature: third.receipt.signature,
    });
    expect(host.exchanges.get(1n)?.at(-1)?.cumulativeTokens).toBe(third.cumulativeTokens);
  });

  it("adopts the newer receipt the host holds when resumed from state saved before a receipted exchange, and recovers that exchange's text", async () => {
    await chat(session, { messages, maxTokens: 4 });
    const saved = serializeSession(session);
    const second = await chat(session, { messages, maxTokens: 4 });

    const resumed = deserializeSession(saved);
    const third = await chat(resumed, { messages, maxTokens: 4 });
    expect(host.refusals).toEqual([]);
    expect(third.recovered).toEqual([
      expect.objectContaining({
        sequence: 2n,
        text: second.text,
        aborted: false,
        cumulativeTokens: second.cumulativeTokens,
        transcriptHash: second.transcriptHash,
        signedBefore: true,
      }),
    ]);
    expect(third.cumulativeTokens).toBe(second.cumulativeTokens + BigInt(third.promptTokens + third.completionTokens));
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(third.cumulativeTokens);
  });

  it("says how many tokens a save two receipts back signed for whose answers it cannot get back", async () => {
    const saved = serializeSession(session);
    const first = await chat(session, { messages, maxTokens: 4 });
    const second = await chat(session, { messages, maxTokens: 4 });

    // The host dropped the first answer when the second receipt came: paid for, not recoverable.
    const { recovered, unrecoveredTokens, cumulativeTokens } = await syncSession(deserializeSession(saved));
    expect(recovered).toEqual([expect.objectContaining({ sequence: 2n, text: second.text, signedBefore: true })]);
    expect(unrecoveredTokens).toBe(first.cumulativeTokens);
    expect(cumulativeTokens).toBe(second.cumulativeTokens);
  });

  it("says so too on the chat or stream that restores and sends at once (its own sync), and 0n when nothing is missing", async () => {
    const saved = serializeSession(session);
    const first = await chat(session, { messages, maxTokens: 4 });
    expect(first.unrecoveredTokens).toBe(0n);
    const second = await chat(session, { messages, maxTokens: 4 });

    const restored = await chat(deserializeSession(saved), { messages, maxTokens: 4 });
    expect(restored.recovered).toEqual([expect.objectContaining({ sequence: 2n, signedBefore: true })]);
    expect(restored.unrecoveredTokens).toBe(first.cumulativeTokens);

    const streamed = await streamChat(deserializeSession(serializeSession(session)), { messages, maxTokens: 4 }).result;
    // A save one receipt back: the host still keeps the exchange it missed, nothing is lost.
    expect(streamed.recovered).toEqual([expect.objectContaining({ signedBefore: true })]);
    expect(streamed.unrecoveredTokens).toBe(0n);
    expect(second.unrecoveredTokens).toBe(0n);
  });

  // The exchanges the host's newest receipt covers are the client's own signature over their text:
  // a host that shows other text for one of them to a client restored from an older save is caught.
  const signedLies: [string, NonNullable<TestHost["behaviour"]["tamperSync"]>, new (...args: never[]) => Error][] = [
    [
      "rewrites the text of an answer the client signed for",
      (answer) => ({ ...answer, exchanges: answer.exchanges.map((exchange) => ({ ...exchange, responseText: "the earth was void " })) }),
      TranscriptMismatchError,
    ],
    [
      "moves a token from the prompt to the answer of an exchange the client signed for",
      (answer) => ({
        ...answer,
        exchanges: answer.exchanges.map((exchange) => ({
          ...exchange,
          promptTokens: exchange.promptTokens - 1,
          completionTokens: exchange.completionTokens + 1,
        })),
      }),
      TranscriptMismatchError,
    ],
  ];
  it.each(signedLies)("disputes a restored session and signs nothing when the host %s", async (_lie, tamper, ErrorClass) => {
    await chat(session, { messages, maxTokens: 4 });
    const saved = serializeSession(session);
    await chat(session, { messages, maxTokens: 4 });
    const storedBefore = host.receipts.get(1n);

    const resumed = deserializeSession(saved);
    host.behaviour.tamperSync = tamper;
    await expect(syncSession(resumed)).rejects.toBeInstanceOf(ErrorClass);
    expect(resumed.dispute).toBeDefined();
    expect(resumed.receipt).toEqual(deserializeSession(saved).receipt);
    expect(host.receipts.get(1n)).toEqual(storedBefore);
  });

  const stranger = privateKeyToAccount(generatePrivateKey());
  const lies: [string, NonNullable<TestHost["behaviour"]["tamperSync"]>, new (...args: never[]) => Error][] = [
    [
      "overclaims the broken exchange's tokens",
      (answer) => ({
        ...answer,
        servedTokens: (BigInt(answer.servedTokens) + 50n).toString(),
        exchanges: answer.exchanges.map((exchange) => ({
          ...exchange,
          completionTokens: exchange.completionTokens + 50,
          cumulativeTokens: (BigInt(exchange.cumulativeTokens) + 50n).toString(),
        })),
      }),
      TokenCountMismatchError,
    ],
    [
      "rewrites the text it delivered",
      (answer) => ({ ...answer, exchanges: answer.exchanges.map((exchange) => ({ ...exchange, responseText: "the earth was void " })) }),
      TranscriptMismatchError,
    ],
    [
      "claims more served tokens than its records hold",
      (answer) => ({ ...answer, servedTokens: (BigInt(answer.servedTokens) + 1n).toString() }),
      SessionProtocolError,
    ],
    [
      "presents a newer receipt another key signed",
      async (answer) => {
        const checkpoint = { jobId: 1n, cumulativeTokens: BigInt(answer.servedTokens), transcriptHash: answer.transcriptHash };
        const signature = await signCheckpoint(stranger, offChainDomain, checkpoint);
        return { ...answer, exchanges: [], receipt: { jobId: "1", cumulativeTokens: answer.servedTokens, transcriptHash: answer.transcriptHash, signature } };
      },
      SessionProtocolError,
    ],
  ];
  it.each(lies)("disputes the session and signs nothing when the host %s", async (_lie, tamper, ErrorClass) => {
    await chat(session, { messages, maxTokens: 4 });
    const receiptBefore = { ...session.receipt };
    const storedBefore = host.receipts.get(1n);
    await breakStream(session, 3);

    host.behaviour.tamperSync = tamper;
    const requestsBefore = host.requests.length;
    await expect(syncSession(session)).rejects.toBeInstanceOf(ErrorClass);
    expect(session.dispute).toBeDefined();
    expect(session.receipt).toEqual(receiptBefore);
    expect(host.receipts.get(1n)).toEqual(storedBefore);
    expect(requestLines(host).slice(requestsBefore)).toEqual(["GET /v1/session/1 200", "POST /v1/session/sync 200"]);
    await expect(chat(session, { messages })).rejects.toBeInstanceOf(SessionDisputedError);
  });

  // The host's config bounds its sync answer with a margin only (escapes in answer text are not bounded), so an
  // honest host may send one too large: it is not taken for a lie, and a host that sends one withholds text only.
  it("stops reading a sync answer past maxAnswerBytes and signs nothing, without disputing the session", async () => {
    await chat(session, { messages, maxTokens: 4 });
    await breakStream(session, 3);
    const before = { cumulativeTokens: session.cumulativeTokens, receipt: session.receipt };
    // An endless answer; the client must not buffer it all.
    const { fetch: tooLarge, sent } = endlessAnswerAt("/v1/session/sync");
    await expect(syncSession(session, { fetch: tooLarge })).rejects.toBeInstanceOf(HostAnswerTooLargeError);
    expect(sent()).toBeLessThanOrEqual(maxAnswerBytes + 2 * (1 << 20));
    expect(session.dispute).toBeUndefined();
    expect(session).toMatchObject(before);
    // A later sync that fits recovers the broken answer and signs for it.
    const { recovered } = await syncSession(session);
    expect(recovered).toHaveLength(1);
    expect(session.cumulativeTokens).toBeGreaterThan(before.cumulativeTokens);
  });

  it("is a no-op against a host that never served the session", async () => {
    session.resync = true;
    expect(await syncSession(session)).toEqual({ recovered: [], unrecoveredTokens: 0n, cumulativeTokens: 0n, receipt: undefined });
    expect(requestLines(host)).toEqual(["GET /v1/session/1 session_unknown"]);
    expect(session).toMatchObject({ resync: false, sequence: 0n, cumulativeTokens: 0n });
    expect(session.dispute).toBeUndefined();
    expect(host.exchanges.size).toBe(0);
  });
});

describe("the error types", () => {
  it("name the disputes a sync throws, for chat, streamChat and syncSession (checked by the type checker)", () => {
    type Disputes = UndeliveredAnswersError | UnrecordedAnswersError;
    // Each error on its own: `Extract` keeps a member only if it is named (or one of the same shape).
    expectTypeOf<Extract<SyncSessionErrorType, UndeliveredAnswersError>>().toEqualTypeOf<UndeliveredAnswersError>();
    expectTypeOf<Extract<SyncSessionErrorType, UnrecordedAnswersError>>().toEqualTypeOf<UnrecordedAnswersError>();
    expectTypeOf<Extract<ChatErrorType, Disputes>>().toEqualTypeOf<Disputes>();
    expectTypeOf<Extract<StreamChatErrorType, Disputes>>().toEqualTypeOf<Disputes>();
  });
});
