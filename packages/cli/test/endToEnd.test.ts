import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { closeSession, createSessionFetch, openSession, signSessionRequestHeaders, type Session } from "@session-jobs/sdk";
import { demoKeys, walletFor } from "../src/demo/localNetwork.ts";
import { startLocalStack } from "./localStack.ts";

let stack: Awaited<ReturnType<typeof startLocalStack>>;

beforeAll(async () => {
  stack = await startLocalStack();
}, 60_000);
afterAll(() => stack?.stop());

async function open(proofInterval = 100n): Promise<Session> {
  const { session } = await openSession(walletFor(stack.network, demoKeys.user), {
    contracts: stack.network.deployment,
    host: stack.host.node.address,
    deposit: 10n ** 16n,
    proofInterval,
    modelId: stack.network.modelId,
  });
  return session;
}

/** Sends a chat request signed by `key` for `session`, bypassing the SDK (and so never signing receipts). */
async function rawChat(session: Session, key: `0x${string}`, sequence: bigint, transcriptHash = session.transcriptHash) {
  const text = JSON.stringify({ messages: [{ role: "user", content: "Genesis 1:1" }], max_tokens: 60 });
  const body = stringToBytes(text);
  const signed = await signSessionRequestHeaders(privateKeyToAccount(key), session, {
    jobId: session.jobId,
    sequence,
    transcriptHash,
    endpoint: "/v1/chat/completions",
    body,
  });
  const response = await fetch(`${session.hostUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...signed },
    body: text,
  });
  return {
    status: response.status,
    json: (await response.json()) as { error?: { code: string }; usage?: { total_tokens: number }; session?: { transcriptHash: `0x${string}` } },
  };
}

describe("end to end: SDK, host node, embedded model, contracts", () => {
  it("serves the official openai client through a session and settles exactly what it signed", async () => {
    const session = await open();
    const openai = new OpenAI({ baseURL: `${session.hostUrl}/v1`, apiKey: "unused", fetch: createSessionFetch(session), maxRetries: 0 });

    const completion = await openai.chat.completions.create({
      model: session.model ?? "",
      messages: [{ role: "user", content: "Genesis 1:1" }],
      max_tokens: 40,
    });
    expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);

    const stream = await openai.chat.completions.create({
      model: session.model ?? "",
      messages: [{ role: "user", content: "And God said" }],
      max_tokens: 40,
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = "";
    let streamedTotal = 0;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) streamedTotal = chunk.usage.total_tokens;
    }
    expect(streamed.length).toBeGreaterThan(0);
    expect(streamedTotal).toBeGreaterThan(0);

    // The adapter signed receipts for exactly what the host reported for both answers.
    const signedTokens = session.cumulativeTokens;
    expect(signedTokens).toBe(BigInt(completion.usage!.total_tokens + streamedTotal));
    const settlement = await closeSession(walletFor(stack.network, demoKeys.user), { session });
    expect(settlement.closedBy).toBe("host");
    expect(settlement.provenTokens).toBe(signedTokens);
    expect(settlement.payment).toBe(signedTokens * session.pricePerToken);
    expect(settlement.hostEarnings + settlement.treasuryFee).toBe(settlement.payment);
    expect(settlement.treasuryFee).toBe(settlement.payment / 10n);
    expect(settlement.refund).toBe(session.deposit - settlement.payment);
  }, 60_000);

  it("refuses a request signed by a key other than the session signer", async () => {
    const session = await open();
    const { status, json } = await rawChat(session, generatePrivateKey(), 1n);
    expect(status).toBe(401);
    expect(json.error?.code).toBe("session_bad_signature");
  }, 30_000);

  it("cuts off a client that stops signing receipts after one checkpoint interval", async () => {
    const session = await open(100n);
    let sequence = 0n;
    let transcriptHash = session.transcriptHash;
    let served = 0;
    let refusal: { status: number; code?: string } | undefined;
    while (!refusal && sequence < 20n) {
      sequence += 1n;
      const { status, json } = await rawChat(session, session.sessionKey, sequence, transcriptHash);
      if (status === 200) {
        served += json.usage!.total_tokens;
        transcriptHash = json.session!.transcriptHash;
      } else refusal = { status, code: json.error?.code };
    }
    expect(refusal?.code).toBe("session_receipt_overdue");
    // It served at least one interval unsigned and refused before two.
    expect(served).toBeGreaterThanOrEqual(100);
    expect(served).toBeLessThan(200 + 60 + 32);
    // Nothing was signed, so closing pays nothing and refunds everything.
    const settlement = await closeSession(walletFor(stack.network, demoKeys.user), { session });
    expect(settlement.provenTokens).toBe(0n);
    expect(settlement.refund).toBe(session.deposit);
  }, 60_000);
});
