/**
 * TEST DOUBLE — not the host node. A minimal in-process HTTP server that speaks the session
 * protocol of docs/design.md with a deterministic text generator instead of a model, so the SDK's
 * tests can run without `packages/host`. It verifies request signatures and sequence numbers,
 * keeps the transcript hash, checks and stores receipts, and settles on close through a callback.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { stringToBytes, type Address, type Hex } from "viem";
import { sessionHeaders, type SessionErrorCode, type SessionUsage } from "../protocol/headers.ts";
import { recoverCheckpointSigner, recoverSessionRequestSigner, type SessionDomainParameters } from "../protocol/signatures.ts";
import { emptyTranscriptHash, nextTranscriptHash } from "../protocol/transcript.ts";

export type StoredReceipt = { cumulativeTokens: bigint; transcriptHash: Hex; signature: Hex };

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
  /** Pause between streamed words, as a model generating in real time. */
  wordDelayMs: number;
  /** A streamed answer fails with an error event after this many words (not billed, not in the transcript). */
  failStreamAfterWords: number | undefined;
};

export type TestHost = {
  url: string;
  behaviour: TestHostBehaviour;
  /** Newest receipt stored per job id. */
  receipts: Map<bigint, StoredReceipt>;
  /** Every request the double refused, by error code. */
  refusals: SessionErrorCode[];
  stop: () => Promise<void>;
};

type JobState = { lastSequence: bigint; cumulativeTokens: bigint; transcriptHash: Hex };

const statusByCode: Partial<Record<SessionErrorCode, number>> = {
  invalid_request: 400,
  session_bad_signature: 401,
  session_unknown: 404,
  session_replayed: 409,
  session_receipt_mismatch: 409,
};

class Refusal extends Error {
  constructor(
    readonly code: SessionErrorCode,
    message: string,
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

/** Starts the test double on 127.0.0.1 and a free port. */
export async function startTestHost(parameters: TestHostParameters): Promise<TestHost> {
  const jobs = new Map<bigint, JobState>();
  const receipts = new Map<bigint, StoredReceipt>();
  const refusals: SessionErrorCode[] = [];
  const behaviour: TestHostBehaviour = { overclaimTokens: 0, closeHangs: false, wordDelayMs: 0, failStreamAfterWords: undefined };

  const authenticate = async (request: IncomingMessage, body: Uint8Array<ArrayBuffer>) => {
    const jobIdHeader = request.headers[sessionHeaders.jobId];
    const sequenceHeader = request.headers[sessionHeaders.sequence];
    const signature = request.headers[sessionHeaders.signature];
    const transcriptHash = request.headers[sessionHeaders.transcript];
    if (typeof jobIdHeader !== "string" || typeof sequenceHeader !== "string" || typeof signature !== "string" || typeof transcriptHash !== "string")
      throw new Refusal("invalid_request", "missing session headers");
    const jobId = BigInt(jobIdHeader);
    const sequence = BigInt(sequenceHeader);
    const signer = await parameters.signerOf(jobId);
    if (!signer) throw new Refusal("session_unknown", `job ${jobId} is unknown`);
    const recovered = await recoverSessionRequestSigner(parameters.domain, { jobId, sequence, transcriptHash: transcriptHash as Hex, body }, signature as Hex);
    if (recovered !== signer) throw new Refusal("session_bad_signature", "request not signed by the session signer");
    const job = jobs.get(jobId) ?? { lastSequence: 0n, cumulativeTokens: 0n, transcriptHash: emptyTranscriptHash };
    if (sequence <= job.lastSequence) throw new Refusal("session_replayed", `sequence ${sequence} already seen`);
    job.lastSequence = sequence;
    jobs.set(jobId, job);
    return { jobId, signer, job };
  };

  const chat = async (request: IncomingMessage, response: ServerResponse, body: Uint8Array<ArrayBuffer>) => {
    const { jobId, job } = await authenticate(request, body);
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
    const failAfter = chatRequest.stream ? behaviour.failStreamAfterWords : undefined;
    if (failAfter === undefined) {
      job.transcriptHash = nextTranscriptHash(job.transcriptHash, { requestBody: body, responseText: text, promptTokens, completionTokens });
      job.cumulativeTokens += BigInt(promptTokens + completionTokens);
    }
    const session: SessionUsage = {
      jobId: jobId.toString(),
      promptTokens,
      completionTokens,
      cumulativeTokens: job.cumulativeTokens.toString(),
      transcriptHash: job.transcriptHash,
    };
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const base = { id: `chatcmpl-${jobId}-${job.lastSequence}`, created: 0, model: chatRequest.model ?? "test-model" };

    if (!chatRequest.stream) {
      const message = { role: "assistant", content: text };
      return json(response, 200, { ...base, object: "chat.completion", choices: [{ index: 0, message, finish_reason: "length" }], usage, session });
    }
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const send = (data: unknown) => response.write(`data: ${JSON.stringify(data)}\n\n`);
    const chunk = (delta: object, finishReason: string | null) => ({
      ...base,
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    });
    send(chunk({ role: "assistant", content: "" }, null));
    for (const [index, word] of words.entries()) {
      if (index === failAfter) {
        send({ error: { message: "the model failed", type: "server_error", code: "backend_error" } });
        return response.end();
      }
      if (behaviour.wordDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, behaviour.wordDelayMs));
      send(chunk({ content: word }, null));
    }
    send(chunk({}, "length"));
    send({ ...base, object: "chat.completion.chunk", choices: [], usage, session });
    response.end("data: [DONE]\n\n");
  };

  const receipt = async (request: IncomingMessage, response: ServerResponse, body: Uint8Array<ArrayBuffer>) => {
    const { jobId, signer, job } = await authenticate(request, body);
    const submission = JSON.parse(new TextDecoder().decode(body)) as { cumulativeTokens: string; transcriptHash: Hex; signature: Hex };
    const checkpoint = { jobId, cumulativeTokens: BigInt(submission.cumulativeTokens), transcriptHash: submission.transcriptHash };
    const recovered = await recoverCheckpointSigner(parameters.domain, checkpoint, submission.signature);
    if (recovered !== signer) throw new Refusal("session_bad_signature", "receipt not signed by the session signer");
    if (checkpoint.cumulativeTokens !== job.cumulativeTokens || checkpoint.transcriptHash !== job.transcriptHash)
      throw new Refusal("session_receipt_mismatch", "receipt differs from the host's records");
    receipts.set(jobId, { cumulativeTokens: checkpoint.cumulativeTokens, transcriptHash: checkpoint.transcriptHash, signature: submission.signature });
    json(response, 200, { stored: true });
  };

  const close = async (request: IncomingMessage, response: ServerResponse, body: Uint8Array<ArrayBuffer>) => {
    const { jobId } = await authenticate(request, body);
    if (behaviour.closeHangs) return;
    if (!parameters.settle) throw new Refusal("invalid_request", "this test host cannot settle");
    const transactionHash = await parameters.settle(jobId, receipts.get(jobId));
    json(response, 200, { jobId: jobId.toString(), transactionHash });
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = new Uint8Array(Buffer.concat(chunks));
      const route =
        request.method === "POST" && request.url === "/v1/chat/completions"
          ? chat
          : request.method === "POST" && request.url === "/v1/session/receipt"
            ? receipt
            : request.method === "POST" && request.url === "/v1/session/close"
              ? close
              : request.method === "GET" && request.url === "/v1/models"
                ? async () => json(response, 200, { object: "list", data: [{ id: "test-model", object: "model", created: 0, owned_by: "test" }] })
                : async () => json(response, 404, { error: { message: "not found", type: "invalid_request_error", code: "not_found" } });
      route(request, response, body).catch((error: unknown) => {
        if (!(error instanceof Refusal))
          return json(response, 500, { error: { message: String(error), type: "server_error", code: "internal_error" } });
        refusals.push(error.code);
        json(response, statusByCode[error.code] ?? 400, { error: { message: error.message, type: "invalid_request_error", code: error.code } });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    behaviour,
    receipts,
    refusals,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}
