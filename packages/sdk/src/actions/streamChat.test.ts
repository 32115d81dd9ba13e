import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostResponseError, HostUnreachableError } from "../errors/host.ts";
import { TokenCountMismatchError } from "../errors/session.ts";
import type { Session } from "../session/types.ts";
import { startOffChainSession } from "../testUtils/offChainSession.ts";
import { generateWords, type TestHost } from "../testUtils/testHost.ts";
import { waitFor } from "../testUtils/waitFor.ts";
import { signDigestNatively } from "#digestSigner";
import { chat } from "./chat.ts";
import { streamChat } from "./streamChat.ts";

let session: Session;
let host: TestHost;
beforeEach(async () => ({ session, host } = await startOffChainSession()));
afterEach(() => host.stop());

const messages = [{ role: "user" as const, content: "And the earth" }];

describe("streamChat", () => {
  it("yields the text deltas and then signs a receipt for the streamed answer", async () => {
    const stream = streamChat(session, { messages, maxTokens: 6 });
    const deltas: string[] = [];
    for await (const delta of stream) deltas.push(delta);
    expect(deltas).toEqual(generateWords("And the earth", 6));
    const result = await stream.result;
    expect(result.text).toBe(deltas.join(""));
    expect(result.completionTokens).toBe(6);
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(result.cumulativeTokens);
    expect(host.receipts.get(1n)?.transcriptHash).toBe(result.transcriptHash);
  });

  it("cancels the request when the reader leaves early: the host stops, and the next request pays only for the words it wrote", async () => {
    host.behaviour.wordDelayMs = 20;
    const stream = streamChat(session, { messages, maxTokens: 50 });
    for await (const delta of stream) {
      expect(delta).toBeTypeOf("string");
      break;
    }
    await expect(stream.result).rejects.toThrow();
    expect(session).toMatchObject({ resync: true, brokenOff: "client", cumulativeTokens: 0n });
    expect(session.dispute).toBeUndefined();
    // The host saw the connection close and stopped: it recorded the answer as aborted.
    await waitFor(() => host.exchanges.get(1n)?.length === 1);

    host.behaviour.wordDelayMs = 0;
    const next = await streamChat(session, { messages, maxTokens: 4 }).result;
    const [broken] = host.exchanges.get(1n)!;
    expect(broken).toMatchObject({ aborted: true });
    expect(broken!.completionTokens).toBeLessThan(50);
    expect(next.recovered).toMatchObject([{ aborted: true, completionTokens: broken!.completionTokens }]);
    expect(next.cumulativeTokens).toBe(BigInt(broken!.promptTokens + broken!.completionTokens + next.promptTokens + next.completionTokens));
    expect(session.undeliveredInARow).toBe(0);
  });

  it("throws the host's error event, and the session goes on since that exchange is not billed", async () => {
    host.behaviour.failStreamAfterWords = 2;
    const failing = streamChat(session, { messages, maxTokens: 5 });
    const deltas: string[] = [];
    const consume = async () => {
      for await (const delta of failing) deltas.push(delta);
    };
    const error = await consume().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostResponseError);
    expect((error as HostResponseError).code).toBe("backend_error");
    expect(deltas).toHaveLength(2);
    expect(session.dispute).toBeUndefined();

    host.behaviour.failStreamAfterWords = undefined;
    const result = await streamChat(session, { messages, maxTokens: 5 }).result;
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(result.cumulativeTokens);
  });

  it("leaves a session whose connection broke mid-answer to sync, and the next request pays for the words delivered", async () => {
    host.behaviour.wordDelayMs = 20;
    const controller = new AbortController();
    const stream = streamChat(session, { messages, maxTokens: 10, signal: controller.signal });
    const consume = async () => {
      for await (const _delta of stream) controller.abort();
    };
    await expect(consume()).rejects.toThrow();
    expect(session.dispute).toBeUndefined();
    expect(session.resync).toBe(true);
    expect(session.cumulativeTokens).toBe(0n);
    // Under load the double may notice the closed connection only after its next pause: let it.
    await waitFor(() => host.exchanges.get(1n)?.length === 1);

    host.behaviour.wordDelayMs = 0;
    const next = await streamChat(session, { messages, maxTokens: 4 }).result;
    const [broken, answered, ...more] = host.exchanges.get(1n)!;
    expect(more).toEqual([]);
    expect(broken).toMatchObject({ aborted: true, promptTokens: 0 });
    expect(broken!.completionTokens).toBeGreaterThan(0);
    expect(broken!.responseText).toBe(generateWords("And the earth", 10).slice(0, broken!.completionTokens).join(""));
    expect(next.cumulativeTokens).toBe(BigInt(broken!.completionTokens + next.promptTokens + next.completionTokens));
    expect(host.receipts.get(1n)).toEqual({ cumulativeTokens: next.cumulativeTokens, transcriptHash: next.transcriptHash, signature: next.receipt.signature });
    expect(answered).toMatchObject({ aborted: false, previousTranscriptHash: broken!.transcriptHash, transcriptHash: session.transcriptHash });
    expect(session.resync).toBe(false);
  });

  it("throws HostUnreachableError when the connection drops mid-answer, and recovers the words written on the next request", async () => {
    host.behaviour.breakStreamAfterWords = 3;
    const stream = streamChat(session, { messages, maxTokens: 10 });
    await expect(stream.result).rejects.toBeInstanceOf(HostUnreachableError);
    expect(session).toMatchObject({ resync: true, cumulativeTokens: 0n });
    expect(session.dispute).toBeUndefined();

    host.behaviour.breakStreamAfterWords = undefined;
    const next = await streamChat(session, { messages, maxTokens: 4 }).result;
    expect(next.recovered).toMatchObject([{ aborted: true, completionTokens: 3 }]);
    expect(next.cumulativeTokens).toBe(3n + BigInt(next.promptTokens + next.completionTokens));
  });

  it("throws TokenCountMismatchError from the iteration when the host overclaims", async () => {
    host.behaviour.overclaimTokens = 100;
    const stream = streamChat(session, { messages, maxTokens: 5 });
    const consume = async () => {
      for await (const _delta of stream);
    };
    await expect(consume()).rejects.toBeInstanceOf(TokenCountMismatchError);
    await expect(stream.result).rejects.toBeInstanceOf(TokenCountMismatchError);
    expect(host.receipts.size).toBe(0);
  });

  describe("what an exchange costs the client", () => {
    it.runIf(signDigestNatively)(
      "hands its request to the transport within the call when nothing has to wait: sessions started together each send as soon as theirs is ready",
      async () => {
        const others = await Promise.all([startOffChainSession(), startOffChainSession()]);
        try {
          let requests = 0;
          const fetch: typeof globalThis.fetch = (input, init) => {
            requests += 1;
            return globalThis.fetch(input, init);
          };
          const sentByEachCall: number[] = [];
          const streams = [session, ...others.map((other) => other.session)].map((each) => {
            const stream = streamChat(each, { messages, maxTokens: 3, fetch });
            sentByEachCall.push(requests);
            return stream;
          });
          expect(sentByEachCall).toEqual([1, 2, 3]);
          await Promise.all(streams.map((stream) => stream.result));
          // The next exchange, its receipt delivered, goes out at once as well.
          requests = 0;
          const next = streamChat(session, { messages, maxTokens: 3, fetch });
          expect(requests).toBe(1);
          await next.result;
        } finally {
          await Promise.all(others.map((other) => other.host.stop()));
        }
      },
    );

    it("carries each exchange, its receipt and the next exchange on one connection (node:http)", async () => {
      for (let index = 0; index < 3; index++) await streamChat(session, { messages, maxTokens: 4 }).result;
      await chat(session, { messages, maxTokens: 4 });
      expect(host.requests.map((request) => `${request.method} ${request.path}`)).toEqual(
        Array.from({ length: 4 }, () => ["POST /v1/chat/completions", "POST /v1/session/receipt"]).flat(),
      );
      expect(new Set(host.requests.map((request) => request.connection))).toEqual(new Set([1]));
    });

    it("does not wait for an answer's end that lags behind its [DONE]: the receipt goes out on another connection", async () => {
      host.behaviour.holdEndAfterDone = true;
      const result = await streamChat(session, { messages, maxTokens: 4 }).result;
      expect(result.receipt.delivered).toBe(true);
      expect(host.receipts.get(1n)?.cumulativeTokens).toBe(result.cumulativeTokens);
      const [chatRequest, receiptRequest] = host.requests;
      expect(receiptRequest!.connection).not.toBe(chatRequest!.connection);
    });
  });
});
