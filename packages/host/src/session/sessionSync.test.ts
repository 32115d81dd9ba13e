import { describe, expect, it } from "vitest";
import { createByteBudget } from "../http/byteBudget.ts";
import { createStore } from "../store/sqliteStore.ts";
import { settled, until } from "../testUtils/promiseState.ts";
import { deployment } from "../testUtils/storeFixtures.ts";
import { chainedExchanges, syncOf } from "../testUtils/syncRoute.ts";
import type { SyncAnswer } from "./sessionSync.ts";

/** Lets `count` turns of the event loop pass: enough for a sync on an in-memory store to reach whatever it waits for. */
async function eventLoopTurns(count: number): Promise<void> {
  let turns = 0;
  await until(() => ++turns > count);
}

/** Sessions 1 and 2 with one exchange each, and a sync budget with room for one of their answers. */
async function twoSessionsWithRoomForOneAnswer() {
  const store = createStore({ path: ":memory:", deployment });
  await store.ensureSession(1n, 100);
  await store.ensureSession(2n, 100);
  await store.appendExchange(chainedExchanges.first);
  await store.appendExchange({ ...chainedExchanges.first, jobId: 2n });
  const budget = createByteBudget({ capacity: store.unsignedBytes(1n) });
  return { store, budget, ...syncOf(store, budget) };
}

describe("a sync waiting for the byte budget", () => {
  it("holds no session's turn while it waits, and leaves the queue when its client hangs up: the bystander's chat and close go on while another session's answer is stuck", async () => {
    // Room for one answer: session 1's, whose client never reads it (its `send` never ends).
    const { store, budget, sync, turns, request } = await twoSessionsWithRoomForOneAnswer();
    let unstick!: () => void;
    const stuck = settled(sync(request, () => new Promise<void>((resolve) => (unstick = resolve)), new AbortController().signal));
    await until(() => unstick !== undefined);
    expect(budget.held).toBeGreaterThan(0);

    const bystanderGone = new AbortController();
    const bystanderAnswers: unknown[] = [];
    const bystander = settled(sync({ ...request, jobId: 2n }, async (answer) => void bystanderAnswers.push(answer), bystanderGone.signal));
    // The bystander's turn (what its chat and its close take first) is free while its sync waits for bytes.
    const turn = settled(turns.acquire(2n));
    await until(() => turn.done);
    (turn.value as () => void)();
    expect(bystander.done).toBe(false);
    // Its client hangs up: the sync leaves the queue without an answer, and holds nothing.
    bystanderGone.abort();
    await until(() => bystander.done);
    expect(bystander.error).toBeUndefined();
    expect(bystanderAnswers).toEqual([]);
    expect(stuck.done).toBe(false);
    const again = settled(turns.acquire(2n));
    await until(() => again.done);
    (again.value as () => void)();

    unstick();
    await until(() => stuck.done);
    expect(stuck.error).toBeUndefined();
    expect(budget.held).toBe(0);
    await store.close();
  });

  it("that found the budget short under its turn gave the turn back, and is answered once there is room", async () => {
    const { store, budget, sync, turns, request } = await twoSessionsWithRoomForOneAnswer();
    let unstick!: () => void;
    const stuck = settled(sync(request, () => new Promise<void>((resolve) => (unstick = resolve)), new AbortController().signal));
    await until(() => unstick !== undefined);
    const bystanderAnswers: unknown[] = [];
    const bystander = settled(sync({ ...request, jobId: 2n }, async (answer) => void bystanderAnswers.push(answer), new AbortController().signal));
    await eventLoopTurns(20);
    const turn = await turns.acquire(2n);
    turn();
    unstick();
    await until(() => stuck.done && bystander.done);
    expect(bystander.error).toBeUndefined();
    expect(bystanderAnswers).toHaveLength(1);
    expect(budget.held).toBe(0);
    await store.close();
  });
});

describe("a sync waiting for its session's turn", () => {
  it("holds no bytes of the budget: syncs of one session queued behind its own turn (its chat, an answer nobody reads) leave the budget to other sessions' syncs", async () => {
    // Room for one answer, and session 1's chat holds its turn.
    const { store, budget, sync, turns, request } = await twoSessionsWithRoomForOneAnswer();
    const releaseTurn = await turns.acquire(1n);
    const answers: bigint[] = [];
    const send = async (answer: SyncAnswer) => void answers.push(BigInt(answer.head.jobId));
    const queued = [4n, 6n].map((sequence) => settled(sync({ ...request, sequence }, send, new AbortController().signal)));
    await eventLoopTurns(20);
    // Before: each had taken its answer's bytes first, the first all of them, and session 2's sync waited as long as session 1's chat.
    expect(budget.held).toBe(0);
    const bystander = settled(sync({ ...request, jobId: 2n }, send, new AbortController().signal));
    await until(() => bystander.done);
    expect(bystander.error).toBeUndefined();
    expect(answers).toEqual([2n]);
    expect(queued.map((state) => state.done)).toEqual([false, false]);

    releaseTurn();
    await until(() => queued.every((state) => state.done));
    expect(answers).toEqual([2n, 1n, 1n]);
    expect(budget.held).toBe(0);
    await store.close();
  });

  it("counts the answer's bytes under the turn: the session's own exchanges recorded while it waited are in them", async () => {
    const store = createStore({ path: ":memory:", deployment });
    await store.ensureSession(1n, 100);
    await store.appendExchange(chainedExchanges.first);
    const budget = createByteBudget({ capacity: 1 << 20 });
    const { sync, turns, request, answers } = syncOf(store, budget);
    const releaseTurn = await turns.acquire(1n); // the session's chat holds its turn
    const answered = settled(sync({ ...request, sequence: 4n }, async (answer) => void answers.push(answer), new AbortController().signal));
    await eventLoopTurns(20);
    expect(budget.held).toBe(0);
    await store.appendExchange(chainedExchanges.second);
    releaseTurn();
    await until(() => answered.done);
    expect(answered.error).toBeUndefined();
    expect(answers[0]!.exchanges).toHaveLength(2);
    expect(budget.peak).toBe(store.unsignedBytes(1n));
    expect(budget.held).toBe(0);
    await store.close();
  });
});
