import { describe, expect, it } from "vitest";
import { zeroAddress, type Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { emptyTranscriptHash, nextTranscriptHash } from "@session-jobs/protocol";
import { streamChat } from "../actions/streamChat.ts";
import { HostUnreachableError } from "../errors/host.ts";
import { SessionProtocolError } from "../errors/session.ts";
import { offChainDomain } from "../testUtils/offChainSession.ts";
import { fetchHost } from "./hostFetch.ts";
import type { Session } from "./types.ts";

// The SDK turns each read of a streamed answer into the events it completes, in one loop: these
// tests cut the same answers into reads at every byte boundary and check nothing changes.

const words = ["In ", "the ", "begin", "ning ", "é", "🙂 ", "✓\r\n", "end"];
const encoder = new TextEncoder();

function newSession(): Session {
  return {
    ...offChainDomain,
    jobId: 1n,
    openedAtBlock: 0n,
    host: zeroAddress,
    hostUrl: "http://host.invalid",
    sessionKey: generatePrivateKey(),
    token: zeroAddress,
    deposit: 10n ** 18n,
    pricePerToken: 1n,
    proofInterval: 1000n,
    modelId: `0x${"11".repeat(32)}`,
    sequence: 0n,
    transcriptHash: emptyTranscriptHash,
    cumulativeTokens: 0n,
  };
}

/**
 * An honest host as a `fetch`: it answers each chat with {@link words} as SSE (LF, CRLF and CR
 * line ends, a comment, the usage with the right transcript hash, `[DONE]`), cut into reads by
 * `split`; receipts are stored. The SDK sees only the bytes, so the cuts are all that varies.
 */
function hostFetch(split: (bytes: Uint8Array, exchange: number) => Uint8Array[]) {
  let transcriptHash: Hex = emptyTranscriptHash;
  let cumulativeTokens = 0n;
  let exchange = 0;
  const host = {
    lengths: [] as number[],
    receipts: [] as string[],
    /** Answers the SDK cancelled rather than read to their end (a cancelled fetch body cuts its connection). */
    cancelled: 0,
    /** Receipt answers whose body was never read (fetch keeps such a response on its connection). */
    unreadReceipts: 0,
    fetch: (async (url, init) => {
      const body = init!.body as Uint8Array;
      if (String(url).endsWith("/v1/session/receipt")) {
        host.receipts.push(new TextDecoder().decode(body));
        host.unreadReceipts += 1;
        let read = false;
        const answer = new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              if (!read) host.unreadReceipts -= 1;
              read = true;
              controller.enqueue(encoder.encode('{"stored":true}'));
              controller.close();
            },
          },
          { highWaterMark: 0 },
        );
        return new Response(answer, { status: 200 });
      }
      const promptTokens = 5;
      const completionTokens = words.length;
      transcriptHash = nextTranscriptHash(transcriptHash, { requestBody: body, responseText: words.join(""), promptTokens, completionTokens });
      cumulativeTokens += BigInt(promptTokens + completionTokens);
      const chunk = (delta: object) => JSON.stringify({ choices: [{ delta }] });
      const session = { jobId: "1", promptTokens, completionTokens, cumulativeTokens: cumulativeTokens.toString(), transcriptHash };
      const lineEnds = ["\n\n", "\r\n\r\n", "\r\r"];
      const text =
        words.map((word, index) => `data: ${chunk({ content: word })}${lineEnds[index % 3]}`).join(": keep-alive\n\n") +
        `data: ${JSON.stringify({ choices: [], session })}\n\ndata: [DONE]\n\n`;
      const bytes = encoder.encode(text);
      host.lengths.push(bytes.byteLength);
      const pieces = split(bytes, exchange++);
      return new Response(
        new ReadableStream(
          {
            pull(controller) {
              const piece = pieces.shift();
              if (piece) controller.enqueue(piece);
              else controller.close();
            },
            cancel: () => void (host.cancelled += 1),
          },
          { highWaterMark: 0 },
        ),
        { status: 200, headers: { "content-type": "text/event-stream" } },
      );
    }) as typeof globalThis.fetch,
  };
  return host;
}

async function exchangeWith(session: Session, fetch: typeof globalThis.fetch) {
  const stream = streamChat(session, { messages: [{ role: "user", content: "Go" }], maxTokens: 64, fetch });
  const deltas: string[] = [];
  for await (const delta of stream) deltas.push(delta);
  return { deltas, result: await stream.result };
}

describe("a streamed answer read in any split", () => {
  // About a thousand signed exchanges: a bound on a loaded machine, not a clock the test depends on.
  it("gives the same deltas, counts and receipt with every cut into two reads, byte by byte, and all in one read", { timeout: 120_000 }, async () => {
    const session = newSession();
    const cuts: number[] = [];
    const host = hostFetch((bytes, exchange) => {
      if (exchange === 0) return [bytes];
      if (exchange === 1) return [...bytes].map((byte) => Uint8Array.of(byte));
      const cut = exchange - 1;
      cuts.push(cut);
      return [bytes.subarray(0, cut), bytes.subarray(cut)];
    });
    for (let exchange = 0; exchange === 0 || exchange - 1 < host.lengths.at(-1)!; exchange++) {
      const { deltas, result } = await exchangeWith(session, host.fetch);
      expect(deltas).toEqual(words);
      expect(result).toMatchObject({ text: words.join(""), promptTokens: 5, completionTokens: words.length, cumulativeTokens: session.cumulativeTokens });
      expect(result.receipt.delivered).toBe(true);
    }
    // Every byte boundary of an answer was a cut (the answers' lengths differ by a digit or so).
    expect(cuts.length).toBeGreaterThanOrEqual(Math.min(...host.lengths) - 1);
    expect(session.dispute).toBeUndefined();
    expect(host.receipts).toHaveLength(cuts.length + 2);
    // Each answer was read to its end past `[DONE]`, and each receipt's answer read: connections are reused.
    expect(host.cancelled).toBe(0);
    expect(host.unreadReceipts).toBe(0);
  });

  it("does not take an answer cut off before its usage for one that ended: HostUnreachableError, and a sync next", async () => {
    const session = newSession();
    // Cut where the usage event starts: every word arrived, the host's claim did not.
    const host = hostFetch((bytes) => {
      const text = new TextDecoder().decode(bytes);
      return [bytes.subarray(0, encoder.encode(text.slice(0, text.lastIndexOf("data: {"))).byteLength)];
    });
    await expect(exchangeWith(session, host.fetch)).rejects.toBeInstanceOf(HostUnreachableError);
    expect(session).toMatchObject({ resync: true, brokenOff: "connection", cumulativeTokens: 0n });
    expect(host.receipts).toEqual([]);
  });
});

describe("a host answer body", () => {
  it("keeps failing with the same error after a failed read, never passing for one that ended", async () => {
    let sent = false;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) controller.error(new Error("connection reset"));
        else controller.enqueue(encoder.encode("data: {}\n\n"));
        sent = true;
      },
    });
    const body = await fetchHost("http://host.invalid/x", { headers: {} }, { fetch: async () => new Response(failing, { status: 200 }) });
    expect((await body.read()).done).toBe(false);
    const error = await body.read().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostUnreachableError);
    await expect(body.read()).rejects.toBe(error);
    await body.cancel();
    await expect(body.read()).rejects.toBe(error);
  });

  it("is cancelled when a streamed answer sends an event that is not JSON (cancelling a fetch body aborts the fetch)", async () => {
    let cancelled: unknown = "not cancelled";
    const endless = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(encoder.encode("data: {not json\n\n")),
      cancel: (reason) => void (cancelled = reason),
    });
    const session = newSession();
    const fetch = (async () => new Response(endless, { status: 200 })) as typeof globalThis.fetch;
    await expect(exchangeWith(session, fetch)).rejects.toBeInstanceOf(SessionProtocolError);
    expect(cancelled).toBeUndefined();
  });
});
