import { fdatasync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createCommon } from "../common.ts";
import { HostError } from "../errors.ts";
import { createByteBudget } from "../http/byteBudget.ts";
import { describeSession } from "../session/describeSession.ts";
import type { AuthenticatedRequest } from "../session/sessionRequest.ts";
import { createSessionSync, type SyncAnswer } from "../session/sessionSync.ts";
import { createSessionTurns } from "../session/sessionTurns.ts";
import { settled, until } from "../testUtils/promiseState.ts";
import { deployment, exchange, hash } from "../testUtils/storeFixtures.ts";
import { createStore } from "./sqliteStore.ts";

/**
 * A SQLite store whose WAL syncs wait until the test releases them (each then runs the real
 * fdatasync): a commit is visible to reads before its sync returns, the window these answers close.
 */
function heldStore() {
  const held: (() => void)[] = [];
  const datasync = (fd: number) => new Promise<void>((release) => held.push(release)).then(() => promisify(fdatasync)(fd));
  const store = createStore({ path: join(mkdtempSync(join(tmpdir(), "host-answers-")), "host.sqlite"), deployment, datasync });
  /** Releases every sync started so far, and the ones they start, until `done` holds. */
  const releaseUntil = (done: () => boolean) =>
    until(() => {
      held.splice(0).forEach((release) => release());
      return done();
    });
  return { store, held, releaseUntil };
}

const first = { ...exchange, sequence: 1n, promptTokens: 1, completionTokens: 2, cumulativeTokens: 3, transcriptHash: hash("aa") };

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
    const refuse = (code: ConstructorParameters<typeof HostError>[0], message: string): never => {
      throw new HostError(code, message);
    };
    const turns = createSessionTurns({ store, exposure: { refusal: () => undefined, unsignedLimit: () => 100 }, refuse });
    const { sync } = createSessionSync({
      common: createCommon({ logLevel: "silent", processMetrics: false }),
      store,
      turns,
      syncBudget: createByteBudget({ capacity: 1 << 20 }),
    });
    const request = { jobId: 1n, sequence: 2n, session: { checkpointInterval: 100n } } as AuthenticatedRequest;
    const answers: SyncAnswer[] = [];
    const commits = store.commitStats.commits;
    const answered = settled(sync(request, async (answer) => void answers.push(answer)));
    await until(() => store.commitStats.commits > commits); // the sync's own sequence is committed
    await new Promise((resolve) => setImmediate(resolve)); // the rest are synchronous reads: only the barrier holds the answer now
    expect(answers).toEqual([]);
    await releaseUntil(() => answered.done && receipt.done);
    expect(answered.error).toBeUndefined();
    expect(answers[0]!.head.receipt).toMatchObject({ cumulativeTokens: "3", transcriptHash: hash("aa") });
    await store.close();
  });
});
