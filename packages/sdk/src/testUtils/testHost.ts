/**
 * TEST DOUBLE — not the host node. A minimal in-process HTTP server that speaks the session
 * protocol of docs/design.md with a deterministic text generator instead of a model, so the SDK's
 * tests can run without `packages/host`. Like the host (packages/host/src/session/sessionProtocol.ts) it
 * verifies request signatures, sequence numbers and the transcript a chat request builds on
 * (`session_out_of_sync`), runs one exchange, sync or close of a job at a time, records every
 * exchange with its signed request and the text it wrote (a stream the client left is billed for
 * the words written, recorded as aborted), checks and stores receipts, answers
 * `GET /v1/session/:jobId` and `POST /v1/session/sync`, and settles on close through a callback.
 * Unlike the host it drops nothing, so a test can read every exchange it served.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { stringToBytes, type Address, type Hex } from "viem";
import {
  sessionHeaders,
  type SessionErrorCode,
  type SessionUsage,
  type SignedEndpoint,
  type SyncResponse,
  recoverCheckpointSigner,
  recoverSessionRequestSigner,
  type SessionDomainParameters,
  encodeRecordedExchange,
  type RecordedExchangeSource,
  emptyTranscriptHash,
  nextTranscriptHash,
  sessionClosingReason,
} from "@session-jobs/protocol";

export type StoredReceipt = { cumulativeTokens: bigint; transcriptHash: Hex; signature: Hex };

/** One exchange as the double served and billed it (what `POST /v1/session/sync` reports). */
export type HostExchange = RecordedExchangeSource & { cumulativeTokens: bigint };

/** One request the double received, in arrival order; `status` and `code` once it was answered; `connection` numbers the connection it came on (1, 2, … in the order they opened). */
export type TestHostRequest = { method: string; path: string; connection: number; status?: number; code?: SessionErrorCode };

export type TestHostParameters = {
  domain: SessionDomainParameters;
  /** The session signer of a job, or undefined for a job this host does not serve. */
  signerOf: (jobId: bigint) => Promise<Address | undefined>;
  /** Settles a job on close (submit the newest receipt, complete) and returns the transaction hash. */
  settle?: (jobId: bigint, receipt: StoredReceipt | undefined) => Promise<Hex>;
};

/** Knobs a test turns to make the double misbehave. */
export type TestHostBehaviour = {
  /** Extra completion tokens claimed on every answer (an overclaiming host). */
  overclaimTokens: number;
  /** `POST /v1/session/close` never answers (the SDK must fall back to the chain). */
  closeHangs: boolean;
  /** A close waits for this before it settles; meanwhile another close of the job is refused as closing, as on the host. */
  settleGate: Promise<void> | undefined;
  /** The `Retry-After` (s) of a refusal as closing; the host sends 1. */
  closingRetryAfterSeconds: number;
  /** Pause between streamed words, as a model generating in real time. */
  wordDelayMs: number;
  /** A streamed answer fails with an error event after this many words (not billed, not in the transcript). */
  failStreamAfterWords: number | undefined;
  /** The connection of a streamed answer breaks after this many words (billed and recorded as for a client that left). */
  breakStreamAfterWords: number | undefined;
  /** A streamed answer's end is held back after its `[DONE]` (a slow proxy, a host that never finishes its answers); by default they travel in one write. */
  holdEndAfterDone: boolean;
  /** Rewrites the answer to `POST /v1/session/sync` before it is sent (a host that lies about its records). */
  tamperSync: ((answer: SyncResponse) => SyncResponse | Promise<SyncResponse>) | undefined;
  /** Receipts are held, neither stored nor answered, until this settles (a slow commit, a far host). */
  holdReceipts: Promise<void> | undefined;
  /** Refuses a chat request with `session_receipt_overdue` while this many tokens or more are served without a receipt (the host's `limits.maxUnsignedTokens`). */
  maxUnsignedTokens: number | undefined;
};

export type TestHost = {
  url: string;
  behaviour: TestHostBehaviour;
  /** Newest receipt stored per job id. */
  receipts: Map<bigint, StoredReceipt>;
  /** Every exchange served per job id, oldest first. */
  exchanges: Map<bigint, HostExchange[]>;
  /** Every request the double refused, by error code. */
  refusals: SessionErrorCode[];
  /** Every request the double received, in arrival order. */
  requests: TestHostRequest[];
  stop: () => Promise<void>;
};

type JobState = { lastSequence: bigint; cumulativeTokens: bigint; transcriptHash: Hex };

/** A request whose signature checked out; its sequence is not consumed until {@link claimTurn}. */
type SignedRequest = { jobId: bigint; sequence: bigint; transcriptHash: Hex; signature: Hex; signer: Address; job: JobState };

const statusByCode: Partial<Record<SessionErrorCode, number>> = {
  invalid_request: 400,
  session_bad_signature: 401,
  session_unknown: 404,
  session_not_active: 409,
  session_replayed: 409,
  session_out_of_sync: 409,
  session_receipt_mismatch: 409,
  session_receipt_overdue: 402,
};

class Refusal extends Error {
  constructor(
    readonly code: SessionErrorCode,
    message: string,
    readonly detail: { reason?: string; retryAfterSeconds?: number } = {},
  ) {
    super(message);
  }
}

const verse = "In the beginning God created the heaven and the earth . And the earth was without form , and void".split(" ");

/** Deterministic "model": words of Genesis 1:1-2 from a prompt-dependent start; one token per word. */
export function generateWords(prompt: string, maxTokens: number): string[] {
  const start = stringToBytes(prompt).reduce((sum, byte) => sum + byte, 0) % verse.length;
  return Array.from({ length: maxTokens }, (_, index) => `${verse[(start + index) % verse.length]} `);
}

/** The double's tokenizer for prompts: about four bytes a token, two per message for the template. */
export function countPromptTokens(messages: { content?: unknown }[]): number {
  return messages.reduce((sum, message) => sum + Math.ceil(stringToBytes(String(message.content ?? "")).length / 4) + 2, 2);
}

/** The double's requests as `METHOD path code-or-status` lines, for a test to compare in one go. */
export function requestLines(host: Pick<TestHost, "requests">): string[] {
  return host.requests.map(({ method, path, status, code }) => `${method} ${path} ${code ?? status ?? "unanswered"}`);
}

/** Starts the test double on 127.0.0.1 and a free port. */
export async function startTestHost(parameters: TestHostParameters): Promise<TestHost> {
  const jobs = new Map<bigint, JobState>();
  const receipts = new Map<bigint, StoredReceipt>();
  /** The receipt each newest one replaced: the exchanges it covers are no longer shown by a sync. */
  const previousReceipts = new Map<bigint, StoredReceipt>();
  const exchanges = new Map<bigint, HostExchange[]>();
  const refusals: SessionErrorCode[] = [];
  const requests: TestHostRequest[] = [];
  const behaviour: TestHostBehaviour = {
    overclaimTokens: 0,
    closeHangs: false,
    settleGate: undefined,
    closingRetryAfterSeconds: 1,
    wordDelayMs: 0,
    failStreamAfterWords: undefined,
    breakStreamAfterWords: undefined,
    holdEndAfterDone: false,
    tamperSync: undefined,
    holdReceipts: undefined,
    maxUnsignedTokens: undefined,
  };

  const turns = new Map<bigint, Promise<void>>();
  /** Waits for the job's turn: its exchanges, syncs and closes run one at a time, as on the host. */
  const takeTurn = async (jobId: bigint): Promise<() => void> => {
    const previous = turns.get(jobId) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    turns.set(
      jobId,
      previous.then(() => current),
    );
    await previous;
    return release;
  };

  const authenticate = async (request: IncomingMessage, body: Uint8Array<ArrayBuffer>): Promise<SignedRequest> => {
    const jobIdHeader = request.headers[sessionHeaders.jobId];
    const sequenceHeader = request.headers[sessionHeaders.sequence];
    const signature = request.headers[sessionHeaders.signature];
    const transcriptHeader = request.headers[sessionHeaders.transcript];
    if (typeof jobIdHeader !== "string" || typeof sequenceHeader !== "string" || typeof signature !== "string" || typeof transcriptHeader !== "string")
      throw new Refusal("invalid_request", "missing session headers");
    const jobId = BigInt(jobIdHeader);
    const sequence = BigInt(sequenceHeader);
    const transcriptHash = transcriptHeader.toLowerCase() as Hex;
    const signer = await parameters.signerOf(jobId);
    if (!signer) throw new Refusal("session_unknown", `job ${jobId} is unknown`);
    const recovered = await recoverSessionRequestSigner(
      parameters.domain,
      { jobId, sequence, transcriptHash, endpoint: new URL(request.url ?? "/", "http://host").pathname as SignedEndpoint, body },
      signature as Hex,
    );
    if (recovered !== signer) throw new Refusal("session_bad_signature", "request not signed by the session signer");
    let job = jobs.get(jobId);
    if (!job) jobs.set(jobId, (job = { lastSequence: 0n, cumulativeTokens: 0n, transcriptHash: emptyTranscriptHash }));
    return { jobId, sequence, transcriptHash, signature: signature as Hex, signer, job };
  };

  /**
   * Consumes the request's sequence number; a number not above the last one is a replay. A chat
   * request must also build on the job's transcript: one that does not consumes nothing.
   */
  const claimTurn = (signed: SignedRequest, options: { inStep?: boolean } = {}) => {
    const { job, sequence, transcriptHash } = signed;
    if (sequence <= job.lastSequence) throw new Refusal("session_replayed", `sequence ${sequence} already seen`);
    if (options.inStep && transcriptHash !== job.transcriptHash.toLowerCase())
      throw new Refusal("session_out_of_sync", `the request builds on ${transcriptHash}, the session stands at ${job.transcriptHash}`);
    const unsigned = job.cumulativeTokens - (receipts.get(signed.jobId)?.cumulativeTokens ?? 0n);
    if (options.inStep && behaviour.maxUnsignedTokens !== undefined && unsigned >= BigInt(behaviour.maxUnsignedTokens))
      throw new Refusal("session_receipt_overdue", `${unsigned} tokens served without a receipt (limit ${behaviour.maxUnsignedTokens})`);
    job.lastSequence = sequence;
  };

  /** A signed request whose body is `{ "jobId": … }` for the job its headers name. */
  const authenticateJobRequest = async (request: IncomingMessage, body: Uint8Array<ArrayBuffer>) => {
    const signed = await authenticate(request, body);
    const { jobId } = JSON.parse(new TextDecoder().decode(body)) as { jobId?: unknown };
    if (String(jobId) !== signed.jobId.toString()) throw new Refusal("invalid_request", "body jobId differs from X-Session-Job-Id");
    return signed;
  };

  const record = (
    signed: SignedRequest,
    requestBody: Uint8Array,
    served: Pick<HostExchange, "responseText" | "promptTokens" | "completionTokens" | "aborted">,
  ) => {
    const { job } = signed;
    const exchange: HostExchange = {
      ...served,
      sequence: signed.sequence,
      requestBody,
      requestSignature: signed.signature,
      previousTranscriptHash: job.transcriptHash,
      cumulativeTokens: job.cumulativeTokens + BigInt(served.promptTokens + served.completionTokens),
      transcriptHash: nextTranscriptHash(job.transcriptHash, { requestBody, ...served }),
    };
    job.cumulativeTokens = exchange.cumulativeTokens;
    job.transcriptHash = exchange.transcriptHash;
    exchanges.set(signed.jobId, [...(exchanges.get(signed.jobId) ?? []), exchange]);
    return exchange;
  };

  const chat = async (request: IncomingMessage, response: ServerResponse, body: Uint8Array<ArrayBuffer>) => {
    const signed = await authenticate(request, body);
    const release = await takeTurn(signed.jobId);
    try {
      claimTurn(signed, { inStep: true });
      await serveChat(signed, response, body);
    } finally {
      release();
    }
  };

  const serveChat = async (signed: SignedRequest, response: ServerResponse, body: Uint8Array<ArrayBuffer>) => {
    const { jobId } = signed;
    const chatRequest = JSON.parse(new TextDecoder().decode(body)) as {
      model?: string;
      messages: { content?: unknown }[];
      max_tokens?: number;
      stream?: boolean;
    };
    const prompt = chatRequest.messages.map((message) => String(message.content ?? "")).join("\n");
    const words = generateWords(prompt, chatRequest.max_tokens ?? 16);
    const text = words.join("");
    const promptTokens = countPromptTokens(chatRequest.messages);
    const completionTokens = words.length + behaviour.overclaimTokens;
    const base = { id: `chatcmpl-${jobId}-${signed.sequence}`, created: 0, model: chatRequest.model ?? "test-model" };
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const complete = (): SessionUsage => {
      const exchange = record(signed, body, { responseText: text, promptTokens, completionTokens, aborted: false });
      return {
        jobId: jobId.toString(),
        promptTokens,
        completionTokens,
        cumulativeTokens: exchange.cumulativeTokens.toString(),
        transcriptHash: exchange.transcriptHash,
      };
    };

    if (!chatRequest.stream) {
      const message = { role: "assistant", content: text };
      const session = complete();
      return json(response, 200, { ...base, object: "chat.completion", choices: [{ index: 0, message, finish_reason: "length" }], usage, session });
    }

    let connectionLost = false;
    const lost = new Promise<void>((resolve) =>
      response.once("close", () => {
        connectionLost ||= !response.writableFinished;
        resolve();
      }),
    );
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const send = (data: unknown) => response.write(`data: ${JSON.stringify(data)}\n\n`);
    const chunk = (delta: object, finishReason: string | null) => ({
      ...base,
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    });
    send(chunk({ role: "assistant", content: "" }, null));
    const written: string[] = [];
    for (const [index, word] of words.entries()) {
      if (index === (behaviour.failStreamAfterWords ?? -1)) {
        send({ error: { message: "the model failed", type: "server_error", code: "backend_error" } });
        return response.end();
      }
      if (index === behaviour.breakStreamAfterWords) {
        // The words written still reach the client; the answer's end never does.
        response.socket?.end();
        connectionLost = true;
        break;
      }
      if (behaviour.wordDelayMs > 0) await Promise.race([new Promise((resolve) => setTimeout(resolve, behaviour.wordDelayMs)), lost]);
      if (connectionLost || response.destroyed) break;
      send(chunk({ content: word }, null));
      written.push(word);
    }
    if (connectionLost || response.destroyed) {
      // As the host does without the model's finish usage: no prompt count, one token a word written.
      if (written.length > 0) record(signed, body, { responseText: written.join(""), promptTokens: 0, completionTokens: written.length, aborted: true });
      return;
    }
    const session = complete();
    send(chunk({}, "length"));
    send({ ...base, object: "chat.completion.chunk", choices: [], usage, session });
    if (behaviour.holdEndAfterDone) response.write("data: [DONE]\n\n");
    else response.end("data: [DONE]\n\n");
  };

  // A receipt is authenticated by its own signature, as on the host: no session headers.
  const receipt = async (_request: IncomingMessage, response: ServerResponse, body: Uint8Array<ArrayBuffer>) => {
    await behaviour.holdReceipts;
    const submission = JSON.parse(new TextDecoder().decode(body)) as { jobId: string; cumulativeTokens: string; transcriptHash: Hex; signature: Hex };
    const jobId = BigInt(submission.jobId);
    const signer = await parameters.signerOf(jobId);
    const job = jobs.get(jobId);
    if (!signer || !job) throw new Refusal("session_unknown", `job ${jobId} is unknown`);
    const checkpoint = { jobId, cumulativeTokens: BigInt(submission.cumulativeTokens), transcriptHash: submission.transcriptHash };
    const recovered = await recoverCheckpointSigner(parameters.domain, checkpoint, submission.signature);
    if (recovered !== signer) throw new Refusal("session_bad_signature", "receipt not signed by the session signer");
    // Any exchange the host served may be receipted, as on the host: a receipt may arrive after the next exchange.
    const served = (exchanges.get(jobId) ?? []).some(
      (exchange) => exchange.cumulativeTokens === checkpoint.cumulativeTokens && exchange.transcriptHash === checkpoint.transcriptHash,
    );
    if (!served) throw new Refusal("session_receipt_mismatch", "receipt differs from the host's records");
    // The newest receipt is kept: an older one arriving late changes nothing.
    if ((receipts.get(jobId)?.cumulativeTokens ?? -1n) >= checkpoint.cumulativeTokens) return json(response, 200, { stored: true });
    const before = receipts.get(jobId);
    if (before) previousReceipts.set(jobId, before);
    receipts.set(jobId, { cumulativeTokens: checkpoint.cumulativeTokens, transcriptHash: checkpoint.transcriptHash, signature: submission.signature });
    json(response, 200, { stored: true });
  };

  const sync = async (request: IncomingMessage, response: ServerResponse, body: Uint8Array<ArrayBuffer>) => {
    const signed = await authenticateJobRequest(request, body);
    const release = await takeTurn(signed.jobId);
    try {
      claimTurn(signed);
      const { jobId, job } = signed;
      const newest = receipts.get(jobId);
      const served = exchanges.get(jobId) ?? [];
      // As on the host: the exchanges the newest receipt alone covers are kept (those the receipt before it covers are not).
      const previous = previousReceipts.get(jobId);
      const covered = previous
        ? served.findIndex((exchange) => exchange.cumulativeTokens === previous.cumulativeTokens && exchange.transcriptHash === previous.transcriptHash)
        : -1;
      const answer: SyncResponse = {
        jobId: jobId.toString(),
        lastSequence: job.lastSequence.toString(),
        servedTokens: job.cumulativeTokens.toString(),
        transcriptHash: job.transcriptHash,
        receipt: newest
          ? {
              jobId: jobId.toString(),
              cumulativeTokens: newest.cumulativeTokens.toString(),
              transcriptHash: newest.transcriptHash,
              signature: newest.signature,
            }
          : null,
        exchanges: served.slice(covered + 1).map(encodeRecordedExchange),
      };
      json(response, 200, behaviour.tamperSync ? await behaviour.tamperSync(answer) : answer);
    } finally {
      release();
    }
  };

  const describeSession = async (jobId: bigint, response: ServerResponse) => {
    const job = jobs.get(jobId);
    if (!job) throw new Refusal("session_unknown", `this host has served nothing for session ${jobId}`);
    json(response, 200, {
      jobId: jobId.toString(),
      servedTokens: job.cumulativeTokens.toString(),
      signedTokens: (receipts.get(jobId)?.cumulativeTokens ?? 0n).toString(),
      transcriptHash: job.transcriptHash,
      lastSequence: job.lastSequence.toString(),
    });
  };

  /** Jobs a close is settling: other requests of theirs are refused as closing, before their turn, as on the host. */
  const closing = new Set<bigint>();
  const close = async (request: IncomingMessage, response: ServerResponse, body: Uint8Array<ArrayBuffer>) => {
    const signed = await authenticate(request, body);
    if (closing.has(signed.jobId))
      throw new Refusal("session_not_active", `session ${signed.jobId} is closing`, {
        reason: sessionClosingReason,
        retryAfterSeconds: behaviour.closingRetryAfterSeconds,
      });
    const release = await takeTurn(signed.jobId);
    closing.add(signed.jobId);
    try {
      claimTurn(signed);
      if (behaviour.closeHangs) return;
      if (!parameters.settle) throw new Refusal("invalid_request", "this test host cannot settle");
      await behaviour.settleGate;
      const transactionHash = await parameters.settle(signed.jobId, receipts.get(signed.jobId));
      json(response, 200, { jobId: signed.jobId.toString(), transactionHash });
    } finally {
      closing.delete(signed.jobId);
      release();
    }
  };

  const routeOf = (method: string | undefined, path: string | undefined) => {
    const describedJob = method === "GET" ? /^\/v1\/session\/(\d{1,78})$/.exec(path ?? "")?.[1] : undefined;
    if (describedJob !== undefined) return (_request: IncomingMessage, response: ServerResponse) => describeSession(BigInt(describedJob), response);
    const routes: Record<string, (request: IncomingMessage, response: ServerResponse, body: Uint8Array<ArrayBuffer>) => Promise<void>> = {
      "POST /v1/chat/completions": chat,
      "POST /v1/session/receipt": receipt,
      "POST /v1/session/sync": sync,
      "POST /v1/session/close": close,
      "GET /v1/models": async (_request, response) =>
        json(response, 200, { object: "list", data: [{ id: "test-model", object: "model", created: 0, owned_by: "test" }] }),
    };
    return (
      routes[`${method} ${path}`] ??
      (async (_request, response) => json(response, 404, { error: { message: "not found", type: "invalid_request_error", code: "not_found" } }))
    );
  };

  const connections = new WeakMap<Socket, number>();
  let connectionCount = 0;
  const server = createServer((request, response) => {
    const entry: TestHostRequest = { method: request.method ?? "", path: request.url ?? "", connection: connections.get(request.socket) ?? 0 };
    requests.push(entry);
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = new Uint8Array(Buffer.concat(chunks));
      routeOf(request.method, request.url)(request, response, body)
        .catch((error: unknown) => {
          if (!(error instanceof Refusal)) return json(response, 500, { error: { message: String(error), type: "server_error", code: "internal_error" } });
          refusals.push(error.code);
          entry.code = error.code;
          const { reason, retryAfterSeconds } = error.detail;
          json(
            response,
            statusByCode[error.code] ?? 400,
            { error: { message: error.message, type: "invalid_request_error", code: error.code, ...(reason && { reason }) } },
            retryAfterSeconds === undefined ? {} : { "retry-after": String(retryAfterSeconds) },
          );
        })
        .finally(() => {
          if (response.headersSent) entry.status = response.statusCode;
        });
    });
  });
  server.on("connection", (socket: Socket) => connections.set(socket, ++connectionCount));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    behaviour,
    receipts,
    exchanges,
    refusals,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}
