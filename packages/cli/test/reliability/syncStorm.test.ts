import { describe, expect, it } from "vitest";
import { chat, type Session } from "@session-jobs/sdk";
import { openUserSession } from "./harness.ts";
import { hostMetric, postSigned, unsignedExchanges } from "./signedRequests.ts";
import { useHostStack } from "./stack.ts";

// A sync storm: sessions that never sign hold ~240 KB of unreceipted requests each and ask for
// them again and again, while a bystander session chats. Sync answers are written an exchange at
// a time, one per session at once, and all of them together hold at most
// limits.maxSyncBytesInFlight of stored exchanges (the host's peak gauge proves it: bytes, not time).

// Room for one answer only. The host's sync lists two receipts' worth, so the budget must be at
// least 2 × maxUnsignedBytes; each session's 4th padded request is admitted below 200 KB (~180 KB).
const maxSyncBytesInFlight = 400_000;
const stack = useHostStack(() => ({
  extra: { batch: { delayMs: 0 }, limits: { maxUnsignedBytes: 200_000, maxSyncBytesInFlight } },
}));

const pad = "x".repeat(60_000);

describe("sync storm", () => {
  it("4 sessions x 5 syncs of ~240 KB each: every answer exact, at most maxSyncBytesInFlight held at once, a bystander served", async () => {
    // Opened one after another: they are transactions of one wallet (nonces).
    const storm: Session[] = [];
    for (let i = 0; i < 4; i++) storm.push(await openUserSession(stack.network, 1_000n));
    const bodies = await Promise.all(storm.map((session) => unsignedExchanges(stack.host.url, session, 4, pad)));
    const bystander = await openUserSession(stack.network, 100n);

    const syncs = storm.map(async (session, index) => {
      for (let round = 0; round < 5; round++) {
        const response = await postSigned(stack.host.url, session, "/v1/session/sync", JSON.stringify({ jobId: String(session.jobId) }));
        expect(response.status).toBe(200);
        const answer = (await response.json()) as { exchanges: { requestBody: string }[]; lastSequence: string };
        expect(answer.lastSequence).toBe(String(session.sequence));
        expect(answer.exchanges.map((exchange) => Buffer.from(exchange.requestBody, "base64").toString("utf8"))).toEqual(bodies[index]);
      }
    });
    const bystanding = (async () => {
      for (let i = 0; i < 3; i++) await chat(bystander, { messages: [{ role: "user", content: "And God said" }], maxTokens: 16 });
    })();
    await Promise.all([...syncs, bystanding]);

    expect(bystander.receipt?.cumulativeTokens).toBe(bystander.cumulativeTokens);
    const peak = await hostMetric(stack.host.url, "session_jobs_sync_bytes_held_peak");
    console.log(`sync storm: peak ${peak} bytes of stored exchanges held by sync answers (limit ${maxSyncBytesInFlight}; one answer ~${4 * pad.length})`);
    // At least one whole answer was held; never two answers' worth when only one fits.
    expect(peak).toBeGreaterThanOrEqual(4 * pad.length);
    expect(peak).toBeLessThanOrEqual(maxSyncBytesInFlight);
    expect(await hostMetric(stack.host.url, "session_jobs_sync_bytes_held")).toBe(0);
  }, 58_000);
});
