import { fdatasync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { describeSession } from "../session/describeSession.ts";
import { settled, until } from "../testUtils/promiseState.ts";
import { deployment, hash } from "../testUtils/storeFixtures.ts";
import { reachedFromReceipt } from "../testUtils/syncChain.ts";
import { chainedExchanges, syncOf } from "../testUtils/syncRoute.ts";
import { createStore } from "./sqliteStore.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

/**
 * A SQLite store whose WAL syncs wait until the test releases them (each then runs the real
 * fdatasync): a commit is visible to reads before its sync returns, the window these answers close.
 */
function heldStore() {
  const held: (() => void)[] = [];
  const datasync = (fd: number) => new Promise<void>((release) => held.push(release)).then(() => promisify(fdatasync)(fd));
  const store = createStore({ path: join(tempDir("host-answers-"), "host.sqlite"), deployment, datasync });
  /** Releases every sync started so far, and the ones they start, until `done` holds. */
  const releaseUntil = (done: () => boolean) =>
    until(() => {
      held.splice(0).forEach((release) => release());
      return done();
    });
  return { store, held, releaseUntil };
}

const { first, second } = chainedExchanges;

describe("answers that show stored state wait for its sync", () => {
  it("GET /v1/session/:jobId shows another request's committed exchange only once it is synced (a power cut could take it back)", async () => {
    const { store, held, releaseUntil } = heldStore();
    await store.ensureSession(1n, 100);
    const append = settled(store.appendExchange(first));
    await until(() => held.length === 1); // committed, its sync held
    const view = settled(describeSession(store, 1n));
    await new Promise((resolve) => setImmediate(resolve)); // its reads are synchronous: only the barrier holds it now
    expect(view.done).toBe(false);
    await releaseUntil(() => view.done && append.done);
    expect(view.value).toMatchObject({ servedTokens: "3", transcriptHash: hash("aa") });
    await store.close();
  });

  it("the sync answer (what the client signs over) waits for the sync of a receipt stored beside it", async () => {
    const { store, held, releaseUntil } = heldStore();
    await store.ensureSession(1n, 100);
    const appended = settled(store.appendExchange(first));
    await releaseUntil(() => appended.done);
    const receipt = settled(store.storeReceipt({ jobId: 1n, cumulativeTokens: 3, transcriptHash: hash("aa"), signature: "0x01" }));
    await until(() => held.length === 1); // the receipt is committed, its sync held: its POST has no 200 yet
    const { sync, request, answers } = syncOf(store);
    const commits = store.commitStats.commits;
    const answered = settled(sync(request, async (answer) => void answers.push(answer), new AbortController().signal));
    await until(() => store.commitStats.commits > commits); // the sync's own sequence is committed
    await new Promise((resolve) => setImmediate(resolve)); // the rest are synchronous reads: only the barrier holds the answer now
    expect(answers).toEqual([]);
    await releaseUntil(() => answered.done && receipt.done);
    expect(answered.error).toBeUndefined();
    expect(answers[0]!.head.receipt).toMatchObject({ cumulativeTokens: "3", transcriptHash: hash("aa") });
    await store.close();
  });
  it("the sync answer is one snapshot: a receipt committed while it waits at the barrier does not hide the exchanges after the receipt it names (the SDK would call that a dispute)", async () => {
    const { store, held, releaseUntil } = heldStore();
    await store.ensureSession(1n, 100);
    const stored = settled(
      (async () => {
        await store.appendExchange(first);
        await store.appendExchange(second);
        await store.storeReceipt({ jobId: 1n, cumulativeTokens: 3, transcriptHash: hash("aa"), signature: "0x01" });
      })(),
    );
    await releaseUntil(() => stored.done);
    const { sync, request, answers } = syncOf(store);
    const commits = store.commitStats.commits;
    const answered = settled(sync({ ...request, sequence: 4n }, async (answer) => void answers.push(answer), new AbortController().signal));
    await until(() => held.length === 1); // the sync's own sequence is committed, its sync held: the answer waits at the barrier
    // Meanwhile the client's receipt for the second exchange commits (its POST waits for the next sync).
    const receipt = settled(store.storeReceipt({ jobId: 1n, cumulativeTokens: 5, transcriptHash: hash("bb"), signature: "0x02" }));
    await until(() => store.commitStats.commits > commits + 1);
    await releaseUntil(() => answered.done && receipt.done);
    expect(answered.error).toBeUndefined();
    const [answer] = answers;
    // The exchanges after the receipt the answer names lead from it to the head it names.
    expect(answer!.head).toMatchObject({ servedTokens: "5", transcriptHash: hash("bb"), receipt: { cumulativeTokens: "3" } });
    expect(reachedFromReceipt(answer!.head.receipt, answer!.exchanges)).toEqual({ cumulativeTokens: 5, transcriptHash: hash("bb") });
    // And the exchange that receipt covers is listed with them, as the host kept it then (for a client that signed
    // for it and lost its state): read after the newer receipt, it would be gone while the answer names the older one.
    expect(answer!.exchanges.map((sent) => sent.cumulativeTokens)).toEqual([3, 5]);
    await store.close();
  });
});
