import { stringToBytes, type Hex, type LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { SessionProtocolError, TokenCountMismatchError, TranscriptMismatchError } from "../errors/session.ts";
import {
  sessionEndpoints,
  type ReceiptSubmission,
  type RecordedExchange,
  type SignedEndpoint,
  type SyncResponse,
  signCheckpoint,
  signSessionRequest,
  bytesToBase64,
  emptyTranscriptHash,
  nextTranscriptHash,
} from "@session-jobs/protocol";
import { offChainDomain as domain } from "../testUtils/offChainSession.ts";
import { parseSyncResponse, reconcile } from "./reconcile.ts";

const jobId = 7n;
const sessionKey = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());

type Position = { cumulativeTokens: bigint; transcriptHash: Hex };
const start: Position = { cumulativeTokens: 0n, transcriptHash: emptyTranscriptHash };

/**
 * An exchange as an honest host records it after `from`: the request signed by the session key at
 * that point of the transcript, with counts that pass the client's check. `overrides` lie about it.
 */
async function recorded(
  from: Position,
  sequence: bigint,
  overrides: {
    signer?: LocalAccount;
    signedAt?: Hex;
    endpoint?: SignedEndpoint;
    promptTokens?: number;
    completionTokens?: number;
    transcriptHash?: Hex;
    aborted?: boolean;
    messages?: unknown[];
  } = {},
): Promise<RecordedExchange> {
  const messages = overrides.messages ?? [{ role: "user", content: `question ${sequence}` }];
  const body = stringToBytes(JSON.stringify({ messages, max_tokens: 8, stream: false }));
  const responseText = "In the beginning ";
  const promptTokens = overrides.promptTokens ?? 5;
  const completionTokens = overrides.completionTokens ?? 3;
  const requestSignature = await signSessionRequest(overrides.signer ?? sessionKey, domain, {
    jobId,
    sequence,
    transcriptHash: overrides.signedAt ?? from.transcriptHash,
    endpoint: overrides.endpoint ?? sessionEndpoints.chat,
    body,
  });
  return {
    sequence: sequence.toString(),
    requestBody: bytesToBase64(body),
    requestSignature,
    previousTranscriptHash: from.transcriptHash,
    responseText,
    promptTokens,
    completionTokens,
    cumulativeTokens: (from.cumulativeTokens + BigInt(promptTokens + completionTokens)).toString(),
    transcriptHash: overrides.transcriptHash ?? nextTranscriptHash(from.transcriptHash, { requestBody: body, responseText, promptTokens, completionTokens }),
    aborted: overrides.aborted ?? false,
  };
}

const after = (exchange: RecordedExchange): Position => ({ cumulativeTokens: BigInt(exchange.cumulativeTokens), transcriptHash: exchange.transcriptHash });

/** An honest host's answer: its newest receipt, the exchanges after it, and where the last one leaves it. */
function answer(
  exchanges: RecordedExchange[],
  receipt: ReceiptSubmission | null = null,
  standing: Position = exchanges.length > 0 ? after(exchanges.at(-1)!) : start,
): SyncResponse {
  return {
    jobId: jobId.toString(),
    lastSequence: exchanges.at(-1)?.sequence ?? "0",
    servedTokens: standing.cumulativeTokens.toString(),
    transcriptHash: standing.transcriptHash,
    receipt,
    exchanges,
  };
}

async function receiptAt(position: Position, signer: LocalAccount = sessionKey): Promise<ReceiptSubmission> {
  const signature = await signCheckpoint(signer, domain, { jobId, ...position });
  return { jobId: jobId.toString(), cumulativeTokens: position.cumulativeTokens.toString(), transcriptHash: position.transcriptHash, signature };
}

const reconcileFrom = (client: Position, sync: SyncResponse) => reconcile({ domain, jobId, signer: sessionKey.address, ...client, answer: sync });

describe("reconcile", () => {
  it("accepts one recorded exchange after the client's position", async () => {
    const first = await recorded(start, 1n, { aborted: true });
    const result = await reconcileFrom(start, answer([first]));
    expect(result).toEqual({
      adoptedReceipt: undefined,
      signedExchanges: [],
      unrecoveredTokens: 0n,
      exchanges: [
        {
          sequence: 1n,
          request: { messages: [{ role: "user", content: "question 1" }], max_tokens: 8, stream: false },
          text: "In the beginning ",
          promptTokens: 5,
          completionTokens: 3,
          cumulativeTokens: 8n,
          transcriptHash: first.transcriptHash,
          aborted: true,
          signedBefore: false,
        },
      ],
      cumulativeTokens: 8n,
      transcriptHash: first.transcriptHash,
      lastSequence: 1n,
      // A stopped answer is not remembered at its billed tokens (below).
      billedAnswers: undefined,
    });
  });

  it("bounds a recorded request that sends an earlier recorded answer back as history at the tokens billed for that answer", async () => {
    const first = await recorded(start, 1n);
    const history = [
      { role: "user", content: "question 1" },
      { role: "assistant", content: "In the beginning " },
      { role: "user", content: "question 3" },
    ];
    // "user" + "question 1" + "assistant" + the answer's 3 tokens (17 bytes) + "user" + "question 3", and 3 × 32 + 32 overhead.
    const limit = 4 + 10 + 9 + 3 + 4 + 10 + 3 * 32 + 32;
    const honest = await recorded(after(first), 3n, { messages: history, promptTokens: limit });
    await expect(reconcileFrom(start, answer([first, honest]))).resolves.toMatchObject({ cumulativeTokens: BigInt(8 + limit + 3) });
    // Billed at the answer's bytes (17), as the bound allowed before.
    const lying = await recorded(after(first), 3n, { messages: history, promptTokens: limit + 14 });
    const error = await reconcileFrom(start, answer([first, lying])).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenCountMismatchError);
    expect((error as TokenCountMismatchError).violations).toEqual([expect.objectContaining({ field: "promptTokens", limit: BigInt(limit) })]);
  });

  it("counts an answer the client stopped, sent back as history, at its bytes: a stop is billed at most a token a delta, below what its text re-tokenizes to", async () => {
    // The host wrote "In the beginning " (3 tokens) as one delta, and the client stopped: billed 1.
    const stopped = await recorded(start, 1n, { aborted: true, completionTokens: 1 });
    const history = [
      { role: "user", content: "question 1" },
      { role: "assistant", content: "In the beginning " },
      { role: "user", content: "question 3" },
    ];
    // The host's tokenizer counts the answer at its 3 tokens; at the 1 billed it would exceed the bound by 2.
    const honest = await recorded(after(stopped), 3n, { messages: history, promptTokens: 4 + 10 + 9 + 3 + 4 + 10 + 3 * 32 + 32 });
    await expect(reconcileFrom(start, answer([stopped, honest]))).resolves.toMatchObject({ exchanges: [{ sequence: 1n }, { sequence: 3n }] });
  });

  it("accepts a chain of two exchanges and ends where the second leaves the session", async () => {
    const first = await recorded(start, 1n);
    const second = await recorded(after(first), 3n);
    const result = await reconcileFrom(start, answer([first, second]));
    expect(result.exchanges.map((exchange) => exchange.sequence)).toEqual([1n, 3n]);
    expect(result).toMatchObject({ ...after(second), lastSequence: 3n, adoptedReceipt: undefined });
  });

  it("adopts a newer receipt the host holds when the session key signed it", async () => {
    const first = await recorded(start, 1n);
    const second = await recorded(after(first), 2n);
    const receipt = await receiptAt(after(first));
    const result = await reconcileFrom(start, answer([second], receipt));
    expect(result.adoptedReceipt).toEqual({ jobId, ...after(first), signature: receipt.signature, delivered: true });
    expect(result.exchanges.map((exchange) => exchange.sequence)).toEqual([2n]);
    expect(result).toMatchObject(after(second));
    // The host lists nothing the receipt covers: the client signed for the first exchange, its text is not given back.
    expect(result.signedExchanges).toEqual([]);
    expect(result.unrecoveredTokens).toBe(after(first).cumulativeTokens);
  });

  // A client restored from a save older than its newest receipt (it signed, then lost its state).
  it("recovers the exchanges an adopted receipt covers beyond the client's own as signed before, apart from those it signs for now", async () => {
    const first = await recorded(start, 1n);
    const second = await recorded(after(first), 2n);
    const third = await recorded(after(second), 3n);
    // The host's receipts: after the first (before the newest) and after the second (newest).
    const result = await reconcileFrom(after(first), answer([second, third], await receiptAt(after(second))));
    expect(result.signedExchanges.map(({ sequence, signedBefore }) => ({ sequence, signedBefore }))).toEqual([{ sequence: 2n, signedBefore: true }]);
    expect(result.exchanges.map(({ sequence, signedBefore }) => ({ sequence, signedBefore }))).toEqual([{ sequence: 3n, signedBefore: false }]);
    expect(result.unrecoveredTokens).toBe(0n);
    expect(result).toMatchObject(after(third));
  });

  it("counts the tokens a save two receipts back signed for whose exchanges the host no longer keeps", async () => {
    const first = await recorded(start, 1n);
    const second = await recorded(after(first), 2n);
    // Saved before both receipts: the host dropped the first exchange when the second receipt came.
    const result = await reconcileFrom(start, answer([second], await receiptAt(after(second))));
    expect(result.signedExchanges.map(({ sequence, text, signedBefore }) => ({ sequence, text, signedBefore }))).toEqual([
      { sequence: 2n, text: second.responseText, signedBefore: true },
    ]);
    expect(result.unrecoveredTokens).toBe(after(first).cumulativeTokens);
    expect(result.exchanges).toEqual([]);
  });

  it("refuses a newer receipt signed by another key", async () => {
    const first = await recorded(start, 1n);
    const forged = await receiptAt(after(first), stranger);
    await expect(reconcileFrom(start, answer([], forged, after(first)))).rejects.toThrow(/not signed by this session's key/);
  });

  it("refuses an exchange whose request another key signed", async () => {
    const forged = await recorded(start, 1n, { signer: stranger });
    await expect(reconcileFrom(start, answer([forged]))).rejects.toThrow(/did not sign it as one at this point of the transcript/);
  });

  it("refuses a request re-presented at another point of the transcript (billing one request twice)", async () => {
    const first = await recorded(start, 1n);
    // The client already signed for `first`; the host replays its signed request as a new exchange.
    const replayed = await recorded(after(first), 1n, { signedAt: start.transcriptHash });
    expect(replayed.requestSignature).toBe(first.requestSignature);
    await expect(reconcileFrom(after(first), answer([replayed]))).rejects.toThrow(/did not sign it as one at this point of the transcript/);
  });

  it("refuses the client's own signed sync or close passed off as a chat request", async () => {
    for (const endpoint of [sessionEndpoints.sync, sessionEndpoints.close]) {
      const disguised = await recorded(start, 1n, { endpoint });
      await expect(reconcileFrom(start, answer([disguised]))).rejects.toThrow(/did not sign it as one at this point of the transcript/);
    }
  });

  it("refuses a request the client signed later, moved to an earlier point of the transcript", async () => {
    const first = await recorded(start, 1n);
    const moved = await recorded(start, 2n, { signedAt: first.transcriptHash });
    await expect(reconcileFrom(start, answer([moved]))).rejects.toThrow(/did not sign it as one at this point of the transcript/);
  });

  it("refuses requests listed out of order", async () => {
    const first = await recorded(start, 2n);
    const second = await recorded(after(first), 1n);
    await expect(reconcileFrom(start, answer([first, second]))).rejects.toThrow(/lists request 1 after request 2/);
  });

  it("refuses overclaimed counts with TokenCountMismatchError", async () => {
    const overclaimed = await recorded(start, 1n, { completionTokens: 9 });
    const error = await reconcileFrom(start, answer([overclaimed])).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenCountMismatchError);
    expect((error as TokenCountMismatchError).violations).toContainEqual(expect.objectContaining({ field: "completionTokens", claimed: 9n, limit: 8n }));
  });

  it("refuses a transcript hash that is not the chain's with TranscriptMismatchError", async () => {
    const wrong = await recorded(start, 1n, { transcriptHash: `0x${"ab".repeat(32)}` });
    await expect(reconcileFrom(start, answer([wrong]))).rejects.toBeInstanceOf(TranscriptMismatchError);
  });

  it("refuses records that do not end where the host says the session stands", async () => {
    const first = await recorded(start, 1n);
    const further = { ...after(first), cumulativeTokens: after(first).cumulativeTokens + 1n };
    await expect(reconcileFrom(start, answer([first], null, further))).rejects.toThrow(/do not lead from the client's last receipt/);
    // Typed, with both counts, so that a caller can say what to do (the CLI's hint).
    await expect(reconcileFrom(start, answer([first], null, further))).rejects.toMatchObject({
      name: "HostRecordsGapError",
      clientTokens: after(first).cumulativeTokens,
      hostTokens: further.cumulativeTokens,
    });
    // Served tokens the host lists no exchange for.
    await expect(reconcileFrom(start, answer([], null, after(first)))).rejects.toThrow(/do not lead from the client's last receipt/);
    // Exchanges that do not start where the client stands.
    const elsewhere = await recorded({ cumulativeTokens: 0n, transcriptHash: `0x${"cd".repeat(32)}` }, 1n);
    await expect(reconcileFrom(start, answer([elsewhere]))).rejects.toThrow(SessionProtocolError);
  });

  it("refuses a last sequence no real session reaches (it would leave the client unable to sign)", async () => {
    const first = await recorded(start, 1n);
    await expect(reconcileFrom(start, { ...answer([first]), lastSequence: (2n ** 63n).toString() })).rejects.toThrow(/claims 9223372036854775808 requests/);
    await expect(reconcileFrom(start, { ...answer([first]), lastSequence: (2n ** 63n - 1n).toString() })).resolves.toMatchObject(after(first));
  });

  it("refuses an answer for another job", async () => {
    await expect(reconcileFrom(start, { ...answer([]), jobId: "8" })).rejects.toThrow(/for job 8, not 7/);
  });

  it("skips the exchanges the client already signed for when the host holds an older receipt", async () => {
    const first = await recorded(start, 1n);
    const second = await recorded(after(first), 2n);
    const result = await reconcileFrom(after(first), answer([first, second]));
    expect(result.adoptedReceipt).toBeUndefined();
    expect(result.exchanges.map((exchange) => exchange.sequence)).toEqual([2n]);
    expect(result).toMatchObject(after(second));
  });

  it("accepts a host that has nothing the client has not signed for", async () => {
    const first = await recorded(start, 1n);
    const result = await reconcileFrom(after(first), answer([], await receiptAt(after(first)), after(first)));
    expect(result).toEqual({ adoptedReceipt: undefined, signedExchanges: [], unrecoveredTokens: 0n, exchanges: [], ...after(first), lastSequence: 0n });
  });
});

describe("parseSyncResponse", () => {
  it("reads a well-formed answer as it is", async () => {
    const first = await recorded(start, 1n);
    const sync = answer([first], await receiptAt(after(first)));
    expect(parseSyncResponse(JSON.parse(JSON.stringify(sync)))).toEqual(sync);
  });

  const malformed: [string, (sync: Record<string, unknown>, exchange: Record<string, unknown>) => void, string][] = [
    ["a missing jobId", (sync) => delete sync.jobId, "jobId"],
    ["a missing lastSequence", (sync) => delete sync.lastSequence, "lastSequence"],
    ["a missing servedTokens", (sync) => delete sync.servedTokens, "servedTokens"],
    ["a negative servedTokens", (sync) => (sync.servedTokens = "-1"), "servedTokens"],
    ["a transcript hash that is not hex", (sync) => (sync.transcriptHash = `0x${"zz".repeat(32)}`), "transcriptHash"],
    ["a transcript hash of the wrong length", (sync) => (sync.transcriptHash = "0x1234"), "transcriptHash"],
    ["a receipt without a signature", (sync) => delete (sync.receipt as Record<string, unknown>).signature, "receipt.signature"],
    ["a receipt that is not an object", (sync) => (sync.receipt = "yes"), "receipt.jobId"],
    ["exchanges that are not an array", (sync) => (sync.exchanges = { 0: {} }), "exchanges"],
    ["missing exchanges", (sync) => delete sync.exchanges, "exchanges"],
    ["a request body that is not base64", (_sync, exchange) => (exchange.requestBody = "not base64!"), "exchanges[0].requestBody"],
    ["a request body whose base64 length is not a multiple of 4", (_sync, exchange) => (exchange.requestBody = "QUJD="), "exchanges[0].requestBody"],
    ["a request signature that is not hex", (_sync, exchange) => (exchange.requestSignature = "signed"), "exchanges[0].requestSignature"],
    ["a previous transcript hash that is not hex", (_sync, exchange) => (exchange.previousTranscriptHash = "0x"), "exchanges[0].previousTranscriptHash"],
    ["a missing response text", (_sync, exchange) => delete exchange.responseText, "exchanges[0].responseText"],
    ["a fractional token count", (_sync, exchange) => (exchange.completionTokens = 1.5), "exchanges[0].completionTokens"],
    ["a token count given as a string", (_sync, exchange) => (exchange.promptTokens = "5"), "exchanges[0].promptTokens"],
    ["a cumulative count that is not decimal", (_sync, exchange) => (exchange.cumulativeTokens = "0x08"), "exchanges[0].cumulativeTokens"],
  ];
  it.each(malformed)("refuses %s", async (_name, spoil, field) => {
    const first = await recorded(start, 1n);
    const sync = JSON.parse(JSON.stringify(answer([first], await receiptAt(after(first))))) as Record<string, unknown>;
    spoil(sync, (sync.exchanges as Record<string, unknown>[])[0]!);
    expect(() => parseSyncResponse(sync)).toThrow(
      expect.objectContaining({ name: "SessionProtocolError", shortMessage: `The host's sync answer has no valid \`${field}\`.` }),
    );
  });

  it("refuses an answer that is not an object", () => {
    expect(() => parseSyncResponse(null)).toThrow(SessionProtocolError);
    expect(() => parseSyncResponse([])).toThrow(SessionProtocolError);
  });
});
