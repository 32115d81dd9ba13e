/**
 * TEST CLIENT — a bare client of the session protocol for the host's tests, built on the SDK's
 * protocol primitives only, so that a test can misbehave on purpose (replay a sequence, sign with
 * the wrong key, send a receipt for a wrong transcript, stop signing).
 */
import type { Hex, LocalAccount } from "viem";
import {
  emptyTranscriptHash,
  nextTranscriptHash,
  signCheckpoint,
  signSessionRequestHeaders,
  type SessionDomainParameters,
  type SessionUsage,
} from "@session-jobs/sdk/protocol";

export type ChatAnswer = {
  status: number;
  /** The JSON answer (plain) or the parsed final chunk carrying `session` (streamed). */
  body: Record<string, any>;
  text: string;
  session: SessionUsage | undefined;
  /** Raw SSE `data:` payloads, in order (streamed only). */
  events: string[];
  requestBody: Uint8Array;
};

export function createTestClient(parameters: { url: string; jobId: bigint; sessionKey: LocalAccount; domain: SessionDomainParameters }) {
  const { jobId, sessionKey, domain } = parameters;
  const client = {
    /** The host's base URL (a test may point it at a restarted node). */
    url: parameters.url,
    sequence: 0n,
    transcriptHash: emptyTranscriptHash,
    cumulativeTokens: 0n,

    /** Sends a signed POST; `sequence`, `transcriptHash` and `signer` override the honest defaults. */
    async post(path: string, payload: unknown, options: { sequence?: bigint; transcriptHash?: Hex; signer?: LocalAccount; signal?: AbortSignal } = {}): Promise<Response> {
      const body = new TextEncoder().encode(JSON.stringify(payload));
      const sequence = options.sequence ?? ++client.sequence;
      const transcriptHash = options.transcriptHash ?? client.transcriptHash;
      const headers = await signSessionRequestHeaders(options.signer ?? sessionKey, domain, { jobId, sequence, transcriptHash, body });
      return fetch(`${client.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
        ...(options.signal && { signal: options.signal }),
      });
    },

    /** One chat exchange; on success the client's transcript follows the host's answer. */
    async chat(request: Record<string, unknown>, options: { sequence?: bigint; transcriptHash?: Hex; signer?: LocalAccount } = {}): Promise<ChatAnswer> {
      const requestBody = new TextEncoder().encode(JSON.stringify(request));
      const response = await client.post("/v1/chat/completions", request, options);
      let answer: ChatAnswer;
      if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
        const events = parseSse(await response.text());
        const chunks = events.filter((data) => data !== "[DONE]").map((data) => JSON.parse(data) as Record<string, any>);
        const text = chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? "").join("");
        const last = chunks.at(-1) ?? {};
        answer = { status: response.status, body: last, text, session: last.session, events, requestBody };
      } else {
        const body = (await response.json()) as Record<string, any>;
        answer = { status: response.status, body, text: body.choices?.[0]?.message?.content ?? "", session: body.session, events: [], requestBody };
      }
      if (answer.session) {
        client.transcriptHash = nextTranscriptHash(client.transcriptHash, {
          requestBody,
          responseText: answer.text,
          promptTokens: answer.session.promptTokens,
          completionTokens: answer.session.completionTokens,
        });
        client.cumulativeTokens = BigInt(answer.session.cumulativeTokens);
      }
      return answer;
    },

    /** Signs and posts a receipt (honestly for the client's own transcript unless overridden). */
    async sendReceipt(overrides: { cumulativeTokens?: bigint; transcriptHash?: Hex; signer?: LocalAccount } = {}): Promise<Response> {
      const cumulativeTokens = overrides.cumulativeTokens ?? client.cumulativeTokens;
      const transcriptHash = overrides.transcriptHash ?? client.transcriptHash;
      const signature = await signCheckpoint(overrides.signer ?? sessionKey, domain, { jobId, cumulativeTokens, transcriptHash });
      return fetch(`${client.url}/v1/session/receipt`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jobId: jobId.toString(), cumulativeTokens: cumulativeTokens.toString(), transcriptHash, signature }),
      });
    },
  };
  return client;
}

export function parseSse(text: string): string[] {
  return text
    .split("\n\n")
    .map((event) => event.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n"))
    .filter((data) => data.length > 0);
}
