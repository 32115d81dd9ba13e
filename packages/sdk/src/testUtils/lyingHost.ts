/**
 * TEST DOUBLE — a host that lies, written by hand over node:http (after a security review's attack
 * suite): it answers each chat request as the test says, and records whatever exchange the test
 * makes up for it, with a transcript hash and counts that chain, so that `POST /v1/session/sync`
 * offers the SDK a record it can check only against what it received live. It stores every
 * receipt; a receipt covers what it recorded before.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Hex } from "viem";
import { nextTranscriptHash } from "@session-jobs/protocol";
import type { Session } from "../session/types.ts";
import { startOffChainSession } from "./offChainSession.ts";

/** A chat request the host received. */
export type LyingHostChat = { body: Buffer; sequence: bigint; signature: Hex; transcript: Hex; headers: IncomingMessage["headers"] };

type Recorded = LyingHostChat & { text: string; promptTokens: number; completionTokens: number; cumulativeTokens: bigint; hash: Hex; aborted: boolean };

export type LyingHost = {
  /** Every request's path and headers, in arrival order. */
  requests: { path: string; headers: IncomingMessage["headers"] }[];
  chats: LyingHostChat[];
  receipts: { cumulativeTokens: string; transcriptHash: Hex; signature: Hex }[];
  /** Answers `GET /v1/session/1` with `session_unknown`, as a host that never recorded anything for the session. */
  forgetsSession: boolean;
  /** Answers a chat request; by default 503. */
  onChat: (chat: LyingHostChat, response: ServerResponse) => void;
  /** Records `text` as the answer to `chat` (billed at its UTF-8 bytes plus one unless `completionTokens` says, and `promptTokens` or none), chained to the last record. */
  record: (chat: LyingHostChat, text: string, options?: { promptTokens?: number; completionTokens?: number; aborted?: boolean }) => Recorded;
  /** Stops the server. */
  stop: () => Promise<void>;
};

/** A session (job 1, off chain) whose host is a {@link LyingHost}. */
export async function startLyingHost(): Promise<{ host: LyingHost; session: Session }> {
  let recorded: Recorded[] = [];
  let served = { tokens: 0n, hash: `0x${"00".repeat(32)}` };
  let lastSequence = 0n;
  const host: LyingHost = {
    requests: [],
    chats: [],
    receipts: [],
    forgetsSession: false,
    onChat: (_chat, response) => void response.writeHead(503).end(),
    record(chat, text, options = {}) {
      const { promptTokens = 0, completionTokens = Buffer.byteLength(text) + 1 } = options;
      const hash = nextTranscriptHash(chat.transcript, { requestBody: chat.body, responseText: text, promptTokens, completionTokens });
      const cumulativeTokens = served.tokens + BigInt(promptTokens + completionTokens);
      const entry = { ...chat, text, promptTokens, completionTokens, cumulativeTokens, hash, aborted: options.aborted ?? true };
      recorded.push(entry);
      served = { tokens: cumulativeTokens, hash };
      return entry;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const json = (response: ServerResponse, status: number, value: unknown) =>
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
  const answer = async (request: IncomingMessage, response: ServerResponse) => {
    const parts: Buffer[] = [];
    for await (const part of request) parts.push(part as Buffer);
    const body = Buffer.concat(parts);
    const path = request.url ?? "";
    host.requests.push({ path, headers: request.headers });
    if (path.endsWith("/chat/completions")) {
      const chat = {
        body,
        sequence: BigInt(request.headers["x-session-sequence"] as string),
        signature: request.headers["x-session-signature"] as Hex,
        transcript: request.headers["x-session-transcript"] as Hex,
        headers: request.headers,
      };
      host.chats.push(chat);
      lastSequence = chat.sequence;
      return host.onChat(chat, response);
    }
    if (path === "/v1/session/1" && !host.forgetsSession) return json(response, 200, { lastSequence: lastSequence.toString() });
    if (path === "/v1/session/sync") {
      lastSequence = BigInt(request.headers["x-session-sequence"] as string);
      return json(response, 200, {
        jobId: "1",
        lastSequence: lastSequence.toString(),
        servedTokens: served.tokens.toString(),
        transcriptHash: served.hash,
        receipt: null,
        exchanges: recorded.map((entry) => ({
          sequence: entry.sequence.toString(),
          requestBody: entry.body.toString("base64"),
          requestSignature: entry.signature,
          previousTranscriptHash: entry.transcript,
          responseText: entry.text,
          promptTokens: entry.promptTokens,
          completionTokens: entry.completionTokens,
          cumulativeTokens: entry.cumulativeTokens.toString(),
          transcriptHash: entry.hash,
          aborted: entry.aborted,
        })),
      });
    }
    if (path === "/v1/session/receipt") {
      host.receipts.push(JSON.parse(body.toString()) as LyingHost["receipts"][number]);
      recorded = [];
      return json(response, 200, { stored: true });
    }
    return json(response, 404, { error: { message: "unknown", type: "invalid_request_error", code: "session_unknown" } });
  };
  const server: Server = createServer((request, response) => void answer(request, response));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { session, host: honest } = await startOffChainSession();
  await honest.stop();
  return { host, session: { ...session, hostUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } };
}

/** Opens an event stream (200, `text/event-stream`). */
export const openEventStream = (response: ServerResponse) => response.writeHead(200, { "content-type": "text/event-stream" });

/** One SSE event carrying `content` as choice 0's delta. */
export const deltaEvent = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;

/** The events that end an answer the host recorded as `entry`: its `session` usage, then `[DONE]`. */
export function answerEndEvents(entry: { promptTokens: number; completionTokens: number; cumulativeTokens: bigint; hash: Hex }): string {
  const usage = {
    jobId: "1",
    promptTokens: entry.promptTokens,
    completionTokens: entry.completionTokens,
    cumulativeTokens: entry.cumulativeTokens.toString(),
    transcriptHash: entry.hash,
  };
  return `data: ${JSON.stringify({ choices: [], session: usage })}\n\ndata: [DONE]\n\n`;
}

/** The error event a host ends a failed answer with (neither billed nor recorded, it says). */
export const errorEvent = (message = "the model failed") => `data: ${JSON.stringify({ error: { message, type: "server_error", code: "backend_error" } })}\n\n`;
