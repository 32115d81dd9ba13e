/**
 * TEST CLIENT — a bare client of the session protocol for the host's tests, built on the SDK's
 * protocol primitives only, so that a test can misbehave on purpose (replay a sequence, sign with
 * the wrong key, build on another transcript, tamper with headers, send a receipt for a wrong
 * transcript, stop signing).
 */
import type { Hex, LocalAccount } from "viem";
import {
  emptyTranscriptHash,
  nextTranscriptHash,
  sessionHeaders,
  signCheckpoint,
  signSessionRequestHeaders,
  type SessionDomainParameters,
  type SessionUsage,
  type SignedEndpoint,
  type SyncResponse,
} from "@session-jobs/protocol";

export type ChatAnswer = {
  status: number;
  /** The JSON answer (plain) or the parsed final chunk carrying `session` (streamed). */
  body: Record<string, any>;
  text: string;
  session: SessionUsage | undefined;
  /** Raw SSE `data:` payloads, in order (streamed only). */
  events: string[];
  requestBody: Uint8Array;
  /** The request's X-Session-Signature. */
  requestSignature: Hex;
};

export type PostOptions = {
  sequence?: bigint;
  transcriptHash?: Hex;
  signer?: LocalAccount;
  signal?: AbortSignal;
  /** Replaces signed headers after signing (undefined leaves one out), to send what was not signed. */
  headers?: Record<string, string | undefined>;
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
    async post(path: string, payload: unknown, options: PostOptions = {}): Promise<Response> {
      return (await send(path, payload, options)).response;
    },

    /** One chat exchange; on success the client's transcript follows the host's answer. */
    async chat(request: Record<string, unknown>, options: Omit<PostOptions, "signal"> = {}): Promise<ChatAnswer> {
      const { response, body: requestBody, signature: requestSignature } = await send("/v1/chat/completions", request, options);
      let answer: ChatAnswer;
      if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
        const events = parseSse(await response.text());
        const chunks = events.filter((data) => data !== "[DONE]").map((data) => JSON.parse(data) as Record<string, any>);
        const text = chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? "").join("");
        const last = chunks.at(-1) ?? {};
        answer = { status: response.status, body: last, text, session: last.session, events, requestBody, requestSignature };
      } else {
        const body = (await response.json()) as Record<string, any>;
        answer = {
          status: response.status,
          body,
          text: body.choices?.[0]?.message?.content ?? "",
          session: body.session,
          events: [],
          requestBody,
          requestSignature,
        };
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
    async sendReceipt(
      overrides: { cumulativeTokens?: bigint; transcriptHash?: Hex; signer?: LocalAccount; reshape?: (signature: Hex) => Hex } = {},
    ): Promise<Response> {
      const cumulativeTokens = overrides.cumulativeTokens ?? client.cumulativeTokens;
      const transcriptHash = overrides.transcriptHash ?? client.transcriptHash;
      const signed = await signCheckpoint(overrides.signer ?? sessionKey, domain, { jobId, cumulativeTokens, transcriptHash });
      const signature = overrides.reshape ? overrides.reshape(signed) : signed;
      return fetch(`${client.url}/v1/session/receipt`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jobId: jobId.toString(), cumulativeTokens: cumulativeTokens.toString(), transcriptHash, signature }),
      });
    },

    /** `POST /v1/session/sync` for this job. */
    async sync(options: PostOptions = {}): Promise<Response> {
      return client.post("/v1/session/sync", { jobId: jobId.toString() }, options);
    },

    /**
     * Follows a sync answer's exchanges as a careful client would: the host lists those its newest
     * receipt covers too (for a client that signed for them, then lost its state), so a client that
     * stands past them starts at the one built on its own transcript, and those before must end
     * exactly where it stands. From there each must build on the client's transcript and hash to
     * what the host says; then the client stands where the host does and can sign a receipt for it.
     * Throws at the first exchange that does not chain.
     */
    followSync(answer: SyncResponse): void {
      const start = answer.exchanges.findIndex((exchange) => exchange.previousTranscriptHash === client.transcriptHash);
      const passed = start === -1 ? answer.exchanges : answer.exchanges.slice(0, start);
      const reached = passed.at(-1);
      if (reached && reached.transcriptHash !== client.transcriptHash)
        throw new Error(`exchange ${reached.sequence} ends at ${reached.transcriptHash}, and none builds on the client's ${client.transcriptHash}`);
      for (const exchange of answer.exchanges.slice(passed.length)) {
        if (exchange.previousTranscriptHash !== client.transcriptHash)
          throw new Error(`exchange ${exchange.sequence} builds on ${exchange.previousTranscriptHash}, not on the client's ${client.transcriptHash}`);
        const transcriptHash = nextTranscriptHash(client.transcriptHash, {
          requestBody: new Uint8Array(Buffer.from(exchange.requestBody, "base64")),
          responseText: exchange.responseText,
          promptTokens: exchange.promptTokens,
          completionTokens: exchange.completionTokens,
        });
        if (transcriptHash !== exchange.transcriptHash)
          throw new Error(`exchange ${exchange.sequence} hashes to ${transcriptHash}, not to ${exchange.transcriptHash}`);
        client.transcriptHash = transcriptHash;
        client.cumulativeTokens = BigInt(exchange.cumulativeTokens);
      }
    },
  };

  /** Signs and sends a POST; the body bytes and signature come back with the response. */
  async function send(path: string, payload: unknown, options: PostOptions) {
    const body = new TextEncoder().encode(JSON.stringify(payload));
    const sequence = options.sequence ?? ++client.sequence;
    const transcriptHash = options.transcriptHash ?? client.transcriptHash;
    const signed = await signSessionRequestHeaders(options.signer ?? sessionKey, domain, {
      jobId,
      sequence,
      transcriptHash,
      endpoint: path as SignedEndpoint,
      body,
    });
    const headers = Object.fromEntries(Object.entries({ ...signed, ...options.headers }).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const response = await fetch(`${client.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
      ...(options.signal && { signal: options.signal }),
    });
    return { response, body, signature: signed[sessionHeaders.signature] as Hex };
  }

  return client;
}

export function parseSse(text: string): string[] {
  return text
    .split("\n\n")
    .map((event) =>
      event
        .split("\n")
        .filter((line) => line.startsWith("data: "))
        .map((line) => line.slice(6))
        .join("\n"),
    )
    .filter((data) => data.length > 0);
}
