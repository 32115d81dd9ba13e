import { isHex, type Address, type Hex } from "viem";
import { HostRecordsGapError, SessionProtocolError, TokenCountMismatchError, TranscriptMismatchError, type TokenCountViolation } from "../errors/session.ts";
import {
  sessionEndpoints,
  type ReceiptSubmission,
  type RecordedExchange,
  type SyncResponse,
  recoverCheckpointSigner,
  recoverSessionRequestSigner,
  type SessionDomainParameters,
  base64ToBytes,
  nextTranscriptHash,
} from "@session-jobs/protocol";
import { rememberAnswer } from "./billedAnswers.ts";
import { checkTokenCounts } from "./countCheck.ts";
import type { BilledAnswer, CountCheckOptions, LiveAnswer, SessionReceipt } from "./types.ts";

/** Above any sequence number a real session reaches. */
const maxSequence = 2n ** 63n;

/**
 * A host's `lastSequence`. Sequence numbers grow by one per request: a claim of 2^63 or more (or
 * no number at all) is a protocol error, since adopting it would leave the client unable to sign.
 */
export function parseSequence(value: unknown): bigint {
  if (typeof value !== "string" || !/^\d{1,78}$/.test(value)) throw new SessionProtocolError("The host's answer has no valid `lastSequence`.");
  const sequence = BigInt(value);
  if (sequence >= maxSequence) throw new SessionProtocolError(`The host claims ${sequence} requests for this session.`);
  return sequence;
}

/** An exchange the client missed the end of, recovered from the host's records and checked. */
export type RecoveredExchange = {
  sequence: bigint;
  /** The chat request body the client sent (and signed). */
  request: Record<string, unknown>;
  /** The assistant text the host delivered; for a broken-off answer, what it wrote before the client left. */
  text: string;
  promptTokens: number;
  completionTokens: number;
  cumulativeTokens: bigint;
  transcriptHash: Hex;
  /** The client left before the answer ended. */
  aborted: boolean;
  /**
   * The client had signed a receipt covering this exchange before it lost its state (a session
   * restored from a save older than that receipt): nothing was signed or billed for it again now.
   */
  signedBefore: boolean;
};

/** Where client and host agree to stand after a sync. */
export type Reconciliation = {
  /** The host's newest receipt, when it is newer than the client's: signed by this session's key, so the client adopts it. */
  adoptedReceipt: SessionReceipt | undefined;
  /**
   * Exchanges the adopted receipt already covers that the client's own saved receipt did not (it
   * signed for them, then lost its state): recovered as they are, oldest first, each its own
   * signed request chaining to that receipt. Those the host no longer keeps are missing.
   */
  signedExchanges: RecoveredExchange[];
  /**
   * Tokens the adopted receipt covers beyond the client's own whose exchanges could not be
   * recovered (the host no longer keeps them: a save older than the receipt before the host's
   * newest): signed for and paid, their text lost. 0n when nothing is missing.
   */
  unrecoveredTokens: bigint;
  /** The exchanges after the client's (or adopted) receipt, each checked; oldest first. */
  exchanges: RecoveredExchange[];
  cumulativeTokens: bigint;
  transcriptHash: Hex;
  lastSequence: bigint;
  /** The session's accepted answers with the recovered ones added. */
  billedAnswers: BilledAnswer[] | undefined;
};

export type ReconcileParameters = {
  domain: SessionDomainParameters;
  jobId: bigint;
  /** The session key's address: every request and receipt the client accepts must be signed by it. */
  signer: Address;
  /** The client's own position: its newest receipt's count and transcript hash. */
  cumulativeTokens: bigint;
  transcriptHash: Hex;
  countCheck?: CountCheckOptions | undefined;
  /** What the client received live of its chat requests' answers: the host's record of each such request must begin with its text. */
  liveAnswers?: LiveAnswer[] | undefined;
  /** The session's accepted answers, for the prompt bound of each recorded request. */
  billedAnswers?: readonly BilledAnswer[] | undefined;
  /** Chat requests the host answered with an error event (neither billed nor recorded, it said): a record of one is refused. */
  failedAnswers?: bigint[] | undefined;
  answer: SyncResponse;
};

/**
 * Checks the host's answer to `POST /v1/session/sync` and works out what the client may sign for.
 * Nothing the host says is taken on trust: a newer receipt must carry the session key's own
 * signature; each recorded exchange must carry the session key's signature over its request as a
 * chat request, its sequence and the transcript hash it built on (so the host cannot bill a request
 * twice, move it, or pass a signed close or sync off as a chat), be of a request the host did not
 * answer with an error, begin with the text the client received live of it, pass the same count check as a live answer,
 * and chain to the transcript hash the host claims;
 * and the chain must end where the host says the session stands. Throws on the first failure.
 */
export async function reconcile(parameters: ReconcileParameters): Promise<Reconciliation> {
  const { answer, domain, jobId } = parameters;
  const fail = (message: string, details?: string): never => {
    throw new SessionProtocolError(message, details === undefined ? {} : { details });
  };
  if (answer.jobId !== jobId.toString()) fail(`The host's sync answer is for job ${answer.jobId}, not ${jobId}.`);
  const signedBySession = (address: Address) => address.toLowerCase() === parameters.signer.toLowerCase();

  let position = { cumulativeTokens: parameters.cumulativeTokens, transcriptHash: parameters.transcriptHash };
  let adoptedReceipt: SessionReceipt | undefined;
  if (answer.receipt && BigInt(answer.receipt.cumulativeTokens) > position.cumulativeTokens) {
    const receipt = answer.receipt;
    const checkpoint = { jobId, cumulativeTokens: BigInt(receipt.cumulativeTokens), transcriptHash: receipt.transcriptHash };
    const signer = await recoverCheckpointSigner(domain, checkpoint, receipt.signature).catch(() => undefined);
    if (!signer || !signedBySession(signer)) fail("The host's newest receipt is not signed by this session's key.");
    adoptedReceipt = { ...checkpoint, signature: receipt.signature, delivered: true };
    position = checkpoint;
  }

  const hostPosition = { cumulativeTokens: BigInt(answer.servedTokens), transcriptHash: answer.transcriptHash.toLowerCase() as Hex };
  const startingAt = (hash: Hex) => answer.exchanges.findIndex((exchange) => exchange.previousTranscriptHash.toLowerCase() === hash.toLowerCase());
  let billedAnswers = parameters.billedAnswers?.slice();
  let previousSequence = 0n;
  const walk = async (records: RecordedExchange[], signedBefore: boolean): Promise<RecoveredExchange[]> => {
    const walked: RecoveredExchange[] = [];
    for (const recorded of records) {
      const exchange = await checkRecordedExchange({ ...parameters, billedAnswers }, recorded, position, previousSequence, signedBefore);
      walked.push(exchange);
      // A later recorded request may send this answer back as history. A stopped answer is billed at
      // most a token a delta, which may be fewer than its text re-tokenizes to: it counts at its bytes.
      if (!exchange.aborted) billedAnswers = rememberAnswer(billedAnswers, exchange.text, exchange.completionTokens);
      previousSequence = exchange.sequence;
      position = { cumulativeTokens: exchange.cumulativeTokens, transcriptHash: exchange.transcriptHash };
    }
    return walked;
  };

  // The host keeps the exchanges its newest receipt covers (back to the receipt before it) for a
  // client that signed for them and then lost its state. They are recovered as signed: each must
  // be the session's own request and the chain must end exactly at the adopted receipt, whose hash
  // the client signed, so no text can be slipped in. A client whose saved receipt is older than
  // what the host keeps gets the kept ones (starting from the first exchange the host lists).
  const signed = adoptedReceipt ? signedRun(answer.exchanges, startingAt(parameters.transcriptHash), adoptedReceipt) : [];
  let signedExchanges: RecoveredExchange[] = [];
  let unrecoveredTokens = adoptedReceipt ? adoptedReceipt.cumulativeTokens - parameters.cumulativeTokens : 0n;
  if (signed.length > 0) {
    const first = signed[0]!;
    position = {
      cumulativeTokens: BigInt(first.cumulativeTokens) - BigInt(first.promptTokens) - BigInt(first.completionTokens),
      transcriptHash: first.previousTranscriptHash,
    };
    // No check that this start is at or after the client's own, nor that the walk ends at the receipt: its last
    // exchange is the one that ends there (signedRun), and each exchange's hash binds its tokens, so the chain to
    // the receipt the client signed fixes every running count on it, the client's own position included.
    unrecoveredTokens = position.cumulativeTokens - parameters.cumulativeTokens;
    signedExchanges = await walk(signed, true);
  }
  // An honest host lists the exchanges after its newest receipt; if it holds an older receipt than
  // the client's (it lost one), the client's position is further down that list.
  const start = startingAt(position.transcriptHash);
  const exchanges = await walk(start === -1 ? [] : answer.exchanges.slice(start), false);
  if (position.cumulativeTokens !== hostPosition.cumulativeTokens || position.transcriptHash.toLowerCase() !== hostPosition.transcriptHash)
    throw new HostRecordsGapError({ client: position, host: hostPosition });
  return { adoptedReceipt, signedExchanges, unrecoveredTokens, exchanges, ...position, lastSequence: parseSequence(answer.lastSequence), billedAnswers };
}

/**
 * The recorded exchanges that the adopted receipt covers beyond the client's own position: from
 * the client's own position (`fromOwn`) if the host lists it, else from the first it lists, up to
 * the one ending at the receipt. None when no listed exchange ends there (the host keeps none, or
 * lists only those after the receipt).
 */
function signedRun(records: RecordedExchange[], fromOwn: number, receipt: SessionReceipt): RecordedExchange[] {
  const from = fromOwn === -1 ? 0 : fromOwn;
  const end = records.findIndex(
    (exchange, index) =>
      index >= from &&
      BigInt(exchange.cumulativeTokens) === receipt.cumulativeTokens &&
      exchange.transcriptHash.toLowerCase() === receipt.transcriptHash.toLowerCase(),
  );
  return end === -1 ? [] : records.slice(from, end + 1);
}

/**
 * Checks one recorded exchange at `position`. One the client already signed a receipt over
 * (`signedBefore`) is taken as it is: its request must be the session's own and its hash chain,
 * but its counts were judged when the client signed for them.
 */
async function checkRecordedExchange(
  parameters: ReconcileParameters,
  recorded: RecordedExchange,
  position: { cumulativeTokens: bigint; transcriptHash: Hex },
  previousSequence: bigint,
  signedBefore: boolean,
): Promise<RecoveredExchange> {
  const { domain, jobId } = parameters;
  const sequence = BigInt(recorded.sequence);
  if (sequence <= previousSequence) throw new SessionProtocolError(`The host lists request ${sequence} after request ${previousSequence}.`);
  const requestBody = base64ToBytes(recorded.requestBody);
  const signed = { jobId, sequence, transcriptHash: position.transcriptHash, endpoint: sessionEndpoints.chat, body: requestBody };
  const signer = await recoverSessionRequestSigner(domain, signed, recorded.requestSignature).catch(() => undefined);
  if (!signer || signer.toLowerCase() !== parameters.signer.toLowerCase())
    throw new SessionProtocolError(
      `The host presents request ${sequence} as this session's chat request, but the session key did not sign it as one at this point of the transcript.`,
    );

  if (parameters.failedAnswers?.includes(sequence))
    throw new SessionProtocolError(
      `The host answered request ${sequence} with an error (neither billed nor recorded, by its protocol), yet presents it as recorded; no receipt was signed.`,
    );
  assertExtendsLiveText(
    parameters.liveAnswers?.find((live) => live.sequence === sequence),
    sequence,
    recorded.responseText,
  );

  let request: Record<string, unknown>;
  try {
    request = JSON.parse(new TextDecoder().decode(requestBody)) as Record<string, unknown>;
  } catch (cause) {
    throw new SessionProtocolError(`Request ${sequence}, though signed by this session, is not a JSON chat request.`, { cause });
  }
  const usage = {
    jobId: jobId.toString(),
    promptTokens: recorded.promptTokens,
    completionTokens: recorded.completionTokens,
    cumulativeTokens: recorded.cumulativeTokens,
    transcriptHash: recorded.transcriptHash,
  };
  const violations = signedBefore
    ? signedCountViolations(recorded, position.cumulativeTokens)
    : checkTokenCounts({
        request,
        responseText: recorded.responseText,
        usage,
        previousCumulativeTokens: position.cumulativeTokens,
        options: parameters.countCheck,
        billedAnswers: parameters.billedAnswers,
      });
  if (violations.length > 0) throw new TokenCountMismatchError({ violations });

  const transcriptHash = nextTranscriptHash(position.transcriptHash, {
    requestBody,
    responseText: recorded.responseText,
    promptTokens: recorded.promptTokens,
    completionTokens: recorded.completionTokens,
  });
  if (transcriptHash !== recorded.transcriptHash.toLowerCase())
    throw new TranscriptMismatchError({ expected: transcriptHash, claimed: recorded.transcriptHash });
  return {
    sequence,
    request,
    text: recorded.responseText,
    promptTokens: recorded.promptTokens,
    completionTokens: recorded.completionTokens,
    cumulativeTokens: BigInt(recorded.cumulativeTokens),
    transcriptHash,
    aborted: recorded.aborted === true,
    signedBefore,
  };
}

/** An exchange recovered as signed is not judged again, but its running count must add up. */
function signedCountViolations(recorded: RecordedExchange, previousCumulativeTokens: bigint): TokenCountViolation[] {
  const limit = previousCumulativeTokens + BigInt(recorded.promptTokens) + BigInt(recorded.completionTokens);
  const claimed = BigInt(recorded.cumulativeTokens);
  return claimed === limit ? [] : [{ field: "cumulativeTokens", claimed, limit, reason: "not the previous total plus this exchange's tokens" }];
}

/**
 * The host may record more of an answer than reached the client (text in flight when it broke
 * off), never other text: the user saw the live text, and a record that rewrites it would have the
 * client sign a transcript it never received. Compared as the strings received (UTF-16 code
 * units), so a character whose halves came in two deltas, one of them live, still matches.
 */
function assertExtendsLiveText(live: LiveAnswer | undefined, sequence: bigint, recordedText: string): void {
  if (live === undefined || recordedText.startsWith(live.text)) return;
  let common = 0;
  while (live.text.charCodeAt(common) === recordedText.charCodeAt(common)) common += 1;
  throw new SessionProtocolError(`The host's record of request ${sequence} does not begin with the text it sent live; no receipt was signed.`, {
    details: `the ${live.text.length} characters received live and the ${recordedText.length} recorded part after ${common} characters`,
  });
}

/**
 * Reads the host's JSON answer to `POST /v1/session/sync`, refusing anything malformed (every
 * field is checked before the answer is reconciled).
 */
export function parseSyncResponse(json: unknown): SyncResponse {
  const fail = (field: string): never => {
    throw new SessionProtocolError(`The host's sync answer has no valid \`${field}\`.`);
  };
  const object = (value: unknown): Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const decimal = (value: unknown, field: string) => (typeof value === "string" && /^\d{1,78}$/.test(value) ? value : fail(field));
  const count = (value: unknown, field: string) => (typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : fail(field));
  const hash = (value: unknown, field: string) => (typeof value === "string" && isHex(value) && value.length === 66 ? value : fail(field));
  const hex = (value: unknown, field: string) => (typeof value === "string" && isHex(value) ? value : fail(field));
  const text = (value: unknown, field: string) => (typeof value === "string" ? value : fail(field));

  const answer = object(json);
  const receipt = answer.receipt === null ? null : object(answer.receipt);
  if (!Array.isArray(answer.exchanges)) fail("exchanges");
  return {
    jobId: decimal(answer.jobId, "jobId"),
    lastSequence: decimal(answer.lastSequence, "lastSequence"),
    servedTokens: decimal(answer.servedTokens, "servedTokens"),
    transcriptHash: hash(answer.transcriptHash, "transcriptHash"),
    receipt:
      receipt === null
        ? null
        : ({
            jobId: decimal(receipt.jobId, "receipt.jobId"),
            cumulativeTokens: decimal(receipt.cumulativeTokens, "receipt.cumulativeTokens"),
            transcriptHash: hash(receipt.transcriptHash, "receipt.transcriptHash"),
            signature: hex(receipt.signature, "receipt.signature"),
          } satisfies ReceiptSubmission),
    exchanges: (answer.exchanges as unknown[]).map((item, index) => {
      const exchange = object(item);
      const field = (name: string) => `exchanges[${index}].${name}`;
      const requestBody = text(exchange.requestBody, field("requestBody"));
      if (requestBody.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(requestBody)) fail(field("requestBody"));
      return {
        sequence: decimal(exchange.sequence, field("sequence")),
        requestBody,
        requestSignature: hex(exchange.requestSignature, field("requestSignature")),
        previousTranscriptHash: hash(exchange.previousTranscriptHash, field("previousTranscriptHash")),
        responseText: text(exchange.responseText, field("responseText")),
        promptTokens: count(exchange.promptTokens, field("promptTokens")),
        completionTokens: count(exchange.completionTokens, field("completionTokens")),
        cumulativeTokens: decimal(exchange.cumulativeTokens, field("cumulativeTokens")),
        transcriptHash: hash(exchange.transcriptHash, field("transcriptHash")),
        aborted: exchange.aborted === true,
      };
    }),
  };
}
