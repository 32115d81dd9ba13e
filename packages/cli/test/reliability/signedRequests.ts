// Signed session requests with bodies the test chooses (padded, never signed for), for the sync
// tests: the SDK would not send them.
import { stringToBytes, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { expect } from "vitest";
import { signSessionRequestHeaders, type Session } from "@session-jobs/sdk";

export type SignedEndpoint = "/v1/chat/completions" | "/v1/session/sync";

/** The signed headers of exactly `body` for the session's next sequence (taken: `session.sequence` moves on). */
export async function nextSignedHeaders(session: Session, endpoint: SignedEndpoint, body: string): Promise<Record<string, string>> {
  session.sequence += 1n;
  return signSessionRequestHeaders(privateKeyToAccount(session.sessionKey), session, {
    jobId: session.jobId,
    sequence: session.sequence,
    transcriptHash: session.transcriptHash,
    endpoint,
    body: stringToBytes(body),
  });
}

/** A validly signed POST of exactly `body` for the session's next sequence. */
export async function postSigned(url: string, session: Session, endpoint: SignedEndpoint, body: string): Promise<Response> {
  const headers = await nextSignedHeaders(session, endpoint, body);
  return fetch(`${url}${endpoint}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
}

/** Serves `count` exchanges whose requests carry `pad` (ignored by the model) and that the client never signs for; returns the request bodies. */
export async function unsignedExchanges(url: string, session: Session, count: number, pad: string): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < count; i++) {
    const body = JSON.stringify({ messages: [{ role: "user", content: `Genesis 1:${i + 1}` }], max_tokens: 4, pad });
    const response = await postSigned(url, session, "/v1/chat/completions", body);
    expect(response.status, await response.clone().text()).toBe(200);
    session.transcriptHash = ((await response.json()) as { session: { transcriptHash: Hex } }).session.transcriptHash;
    bodies.push(body);
  }
  return bodies;
}

/** One unlabelled gauge or counter of the host's `/metrics`. */
export async function hostMetric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1]);
}
