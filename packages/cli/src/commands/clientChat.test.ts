import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { zeroAddress, type Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { serializeSession, type Session } from "@session-jobs/sdk";
import { emptyTranscriptHash, nextTranscriptHash } from "@session-jobs/sdk/protocol";
import { captureStreams } from "../../test/captureStreams.ts";
import { runCli } from "../cli.ts";
import { defaultChatMaxTokens } from "./clientChat.ts";

// A malicious host against `session-jobs client chat`: it writes a little, drops the connection,
// then "recovers" (at the next request's sync) an answer it never sent, and puts terminal control
// sequences in everything it says.

type Captured = { body: Buffer; sequence: bigint; signature: Hex; transcript: Hex };
type Recorded = Captured & { text: string; completion: number; cumulative: bigint; hash: Hex };

const clearScreen = "\x1b[2J\x1b[3J\x1b[H";
const osc52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07";
const fakeReceiptLine = "\x1b[1A\r\x1b[Kreceipt signed for 1 tokens in total\x9b2J";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** The hostile host: `onChat` answers each chat request; `record` makes the next sync "recover" an exchange. */
async function hostileHost() {
  const state = {
    chats: [] as Captured[],
    receipts: [] as { cumulativeTokens: string }[],
    recorded: [] as Recorded[],
    served: { tokens: 0n, hash: emptyTranscriptHash },
    lastSequence: 0n,
    /** What `GET /v1/host` answers (only its limits are read): none, a 404, by default. */
    policy: undefined as { limits: { maxTokens: number; defaultMaxTokens: number } } | undefined,
    onChat: (_captured: Captured, response: ServerResponse): void => void response.writeHead(503).end(),
    record(captured: Captured, text: string) {
      const completion = Buffer.byteLength(text) + 1;
      const hash = nextTranscriptHash(captured.transcript, { requestBody: captured.body, responseText: text, promptTokens: 0, completionTokens: completion });
      const cumulative = state.served.tokens + BigInt(completion);
      state.recorded.push({ ...captured, text, completion, cumulative, hash });
      state.served = { tokens: cumulative, hash };
    },
  };
  const readBody = (request: IncomingMessage) =>
    new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = [];
      request.on("data", (part: Buffer) => parts.push(part)).on("end", () => resolve(Buffer.concat(parts)));
    });
  server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const json = (status: number, value: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
      const path = request.url ?? "";
      if (path.endsWith("/chat/completions")) {
        const captured = {
          body,
          sequence: BigInt(request.headers["x-session-sequence"] as string),
          signature: request.headers["x-session-signature"] as Hex,
          transcript: request.headers["x-session-transcript"] as Hex,
        };
        state.chats.push(captured);
        state.lastSequence = captured.sequence;
        return state.onChat(captured, response);
      }
      if (path === "/v1/host" && state.policy) return json(200, policyDocument(state.policy.limits));
      if (path === "/v1/session/1") return json(200, { lastSequence: state.lastSequence.toString() });
      if (path === "/v1/session/sync") {
        state.lastSequence = BigInt(request.headers["x-session-sequence"] as string);
        return json(200, {
          jobId: "1",
          lastSequence: state.lastSequence.toString(),
          servedTokens: state.served.tokens.toString(),
          transcriptHash: state.served.hash,
          receipt: null,
          exchanges: state.recorded.map((r) => ({
            sequence: r.sequence.toString(),
            requestBody: r.body.toString("base64"),
            requestSignature: r.signature,
            previousTranscriptHash: r.transcript,
            responseText: r.text,
            promptTokens: 0,
            completionTokens: r.completion,
            cumulativeTokens: r.cumulative.toString(),
            transcriptHash: r.hash,
            aborted: true,
          })),
        });
      }
      if (path === "/v1/session/receipt") {
        state.receipts.push(JSON.parse(body.toString()) as { cumulativeTokens: string });
        state.recorded = [];
        return json(200, { stored: true });
      }
      return json(404, { error: { message: "no", type: "session_error", code: "session_unknown" } });
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { state, url };
}

/** A well-formed host policy document with the given request limits. */
const policyDocument = (limits: { maxTokens: number; defaultMaxTokens: number }) => ({
  host: zeroAddress,
  chainId: 31337,
  marketplace: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  model: { id: "test-model", modelIds: [`0x${"11".repeat(32)}`] },
  pricing: { minPricePerToken: "1", minPricePerTokenNative: null },
  limits: { maxCheckpointInterval: 1000, maxUnsignedTokens: null, maxBodyBytes: 1_000_000, ...limits },
});

/** A saved session of job 1 on the hostile host, and the `client chat` command line that uses it. */
function savedSession(hostUrl: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "session-jobs-chat-"));
  const address = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
  const marketplace = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  const deployment = { chainId: 31337, modelRegistry: address(1), nodeRegistry: address(2), proofSystem: address(3), hostEarnings: address(4) };
  writeFileSync(join(dir, "deployment.json"), JSON.stringify({ ...deployment, jobMarketplace: marketplace, treasury: address(6), owner: address(7) }));
  const session: Session = {
    chainId: 31337,
    marketplace,
    jobId: 1n,
    openedAtBlock: 0n,
    host: zeroAddress,
    hostUrl,
    sessionKey: generatePrivateKey(),
    token: zeroAddress,
    deposit: 10n ** 18n,
    pricePerToken: 1n,
    proofInterval: 1000n,
    modelId: `0x${"11".repeat(32)}`,
    model: "test-model",
    sequence: 0n,
    transcriptHash: emptyTranscriptHash,
    cumulativeTokens: 0n,
  };
  writeFileSync(join(dir, "31337-1.json"), serializeSession(session), { mode: 0o600 });
  return ["client", "chat", "--deployment", join(dir, "deployment.json"), "--sessions-dir", dir, "--job", "1", "--prompt", "Hi"];
}

const sse = (response: ServerResponse) => response.writeHead(200, { "content-type": "text/event-stream" });
const delta = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;
const busy = (response: ServerResponse, message = "busy"): void =>
  void response.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ error: { message, type: "server_error", code: "backend_error" } }));

/** Runs `client chat` twice (the second run's sync recovers the first's dropped answer). */
async function chatTwice(argv: string[]) {
  const first = captureStreams();
  const second = captureStreams();
  const codes = [await runCli(argv, first.streams), await runCli(argv, second.streams)];
  return { codes, output: [first, second].map((run) => run.stdout.text() + run.stderr.text()).join("") };
}

describe("client chat against a hostile host", () => {
  it("always sends max_tokens, so a 4 MB answer 'recovered' after a dropped connection gets no receipt", async () => {
    const { state, url } = await hostileHost();
    state.onChat = (captured, response) => {
      if (state.chats.length > 1) return busy(response);
      sse(response).write(delta("Hel"));
      state.record(captured, "Z".repeat(4_000_000));
      setTimeout(() => response.socket?.destroy(), 50);
    };
    const { codes } = await chatTwice(savedSession(url));
    expect(JSON.parse(state.chats[0]!.body.toString())).toMatchObject({ max_tokens: defaultChatMaxTokens });
    expect(codes).toEqual([1, 1]);
    // What one undelivered answer can cost is the request's max_tokens: the session key signed nothing for 4,000,001 tokens.
    expect(state.receipts.every((receipt) => BigInt(receipt.cumulativeTokens) <= BigInt(defaultChatMaxTokens))).toBe(true);
  });

  it("sends the host's own max_tokens limit when it publishes one below the default, so a small host is not refused", async () => {
    const { state, url } = await hostileHost();
    state.policy = { limits: { maxTokens: 100, defaultMaxTokens: 64 } };
    await runCli(savedSession(url), captureStreams().streams);
    expect(JSON.parse(state.chats[0]!.body.toString())).toMatchObject({ max_tokens: 100 });
  });

  it("--max-tokens is what is sent", async () => {
    const { state, url } = await hostileHost();
    await runCli([...savedSession(url), "--max-tokens", "7"], captureStreams().streams);
    expect(JSON.parse(state.chats[0]!.body.toString())).toMatchObject({ max_tokens: 7 });
  });

  it("prints no terminal control sequence the host sent: not in the answer, the recovered text or its error", async () => {
    const { state, url } = await hostileHost();
    state.onChat = (captured, response) => {
      if (state.chats.length > 1) return busy(response, `overloaded${clearScreen}${osc52}`);
      sse(response).write(delta(`Hel${clearScreen}`));
      // Within every bound the client checks (it extends the text sent live): signed for, and shown.
      state.record(captured, `Hel${clearScreen}lo${osc52}${fakeReceiptLine}`);
      setTimeout(() => response.socket?.destroy(), 50);
    };
    const { output } = await chatTwice(savedSession(url));
    expect(state.receipts).toHaveLength(1);
    expect(output).toContain("now signed for");
    expect(output).toContain("Hello");
    expect(output).toContain("overloaded");
    // eslint-disable-next-line no-control-regex -- the point of the test
    expect(output).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });
});
