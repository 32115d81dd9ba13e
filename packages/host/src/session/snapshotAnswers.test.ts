import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { interleaveAfter } from "../testUtils/queryInterleave.ts";
import { deployment, hash } from "../testUtils/storeFixtures.ts";
import { reachedFromReceipt } from "../testUtils/syncChain.ts";
import { chainedExchanges, syncOf } from "../testUtils/syncRoute.ts";
import { postgresStartTimeoutMs, startTestPostgres, type TestPostgres } from "../testUtils/testPostgres.ts";
import { createPostgresStore } from "../store/postgresStore.ts";
import { describeSession } from "./describeSession.ts";

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres({ fsync: false });
}, postgresStartTimeoutMs);
afterAll(() => postgres?.stop());

const { first, second, third } = chainedExchanges;

/**
 * Two host processes on one PostgreSQL database: the first answers a sync while the second writes
 * between the answer's reads. Session 1 has two exchanges and a receipt for the first.
 */
async function twoProcesses() {
  const url = await postgres.createDatabase();
  const open = () => createPostgresStore({ url, deployment, poolSize: 2, leaderRetryMs: 20 });
  const [syncing, other] = [await open(), await open()];
  await syncing.ensureSession(1n, 100);
  await syncing.appendExchange(first);
  await syncing.appendExchange(second);
  await syncing.storeReceipt({ jobId: 1n, cumulativeTokens: 3, transcriptHash: hash("aa"), signature: "0x01" });
  return { syncing, other, close: () => Promise.all([syncing.close(), other.close()]) };
}

describe("the sync answer on PostgreSQL is one snapshot, whatever another process writes meanwhile", () => {
  it("a receipt another process stores between the answer's reads does not leave a gap between the receipt it names and its head", async () => {
    const { syncing, other, close } = await twoProcesses();
    const { sync, request, answers } = syncOf(syncing);
    // Right after the answer reads the newest receipt, the client's receipt for the second exchange commits elsewhere (dropping its request).
    const interleaved = interleaveAfter(/\bFROM receipts\b/i, () =>
      other.storeReceipt({ jobId: 1n, cumulativeTokens: 5, transcriptHash: hash("bb"), signature: "0x02" }),
    );
    await sync({ ...request, sequence: 4n }, async (answer) => void answers.push(answer), new AbortController().signal);
    expect(interleaved.fired()).toBe(true);
    const [answer] = answers;
    expect(reachedFromReceipt(answer!.head.receipt, answer!.exchanges)).toEqual({
      cumulativeTokens: Number(answer!.head.servedTokens),
      transcriptHash: answer!.head.transcriptHash,
    });
    // And the exchange the named receipt covers is listed with them, as the host kept it then (for a client that signed
    // for it and lost its state): read after the newer receipt's commit, it would be gone while the answer names the older one.
    expect(answer!.head.receipt).toMatchObject({ cumulativeTokens: "3" });
    expect(answer!.exchanges.map((sent) => sent.cumulativeTokens)).toEqual([3, 5]);
    await close();
  });

  it("an exchange another process appends between the answer's reads is either all in the answer or not in it at all", async () => {
    const { syncing, other, close } = await twoProcesses();
    const { sync, request, answers } = syncOf(syncing);
    // Once the sync's own sequence is taken, right after the answer reads the session's head, another exchange commits elsewhere.
    let appended: { fired: () => boolean } | undefined;
    interleaveAfter(/\blast_sequence\b/i, async () => {
      appended = interleaveAfter(/\bFROM sessions\b/i, () => other.appendExchange(third));
    });
    await sync({ ...request, sequence: 4n }, async (answer) => void answers.push(answer), new AbortController().signal);
    expect(appended?.fired()).toBe(true);
    const [answer] = answers;
    expect(reachedFromReceipt(answer!.head.receipt, answer!.exchanges)).toEqual({
      cumulativeTokens: Number(answer!.head.servedTokens),
      transcriptHash: answer!.head.transcriptHash,
    });
    await close();
  });
});

describe("GET /v1/session/:jobId on PostgreSQL is one snapshot", () => {
  it("an exchange another process appends between the view's reads does not show as the last exchange of an older head", async () => {
    const { syncing, other, close } = await twoProcesses();
    const appended = interleaveAfter(/\bFROM sessions\b/i, () => other.appendExchange(third));
    const view = (await describeSession(syncing, 1n))!;
    expect(appended.fired()).toBe(true);
    expect(view.lastExchange).toMatchObject({ cumulativeTokens: view.servedTokens, transcriptHash: view.transcriptHash });
    await close();
  });
});
