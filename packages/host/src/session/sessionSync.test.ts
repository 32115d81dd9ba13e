import { describe, expect, it } from "vitest";
import { createByteBudget } from "../http/byteBudget.ts";
import { createStore } from "../store/sqliteStore.ts";
import { settled, until } from "../testUtils/promiseState.ts";
import { deployment } from "../testUtils/storeFixtures.ts";
import { chainedExchanges, syncOf } from "../testUtils/syncRoute.ts";
import type { Store } from "../store/storeTypes.ts";
import type { SyncAnswer } from "./sessionSync.ts";

/** Lets `count` turns of the event loop pass: enough for a sync on an in-memory store to reach whatever it waits for. */
async function eventLoopTurns(count: number): Promise<void> {
  let turns = 0;
  await until(() => ++turns > count);
}

/** `store` whose reads of a session's sync bytes take two turns of the event loop, as a PostgreSQL round trip does. */
function withSlowReads(store: Store): Store {
  return {
    ...store,
    syncBytes: async (jobId) => {
      await eventLoopTurns(2);
      return store.syncBytes(jobId);
    },
  };
}

/** A `send` whose client reads nothing until `unstick` is called; `sent` lists the sessions answered, in order. */
function stuckSend(sent: bigint[]) {
  let unstick!: () => void;
  const reading = new Promise<void>((resolve) => (unstick = resolve));
  return { send: (answer: SyncAnswer) => (sent.push(BigInt(answer.head.jobId)), reading), unstick };
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

describe("a sync waiting in the budget's line", () => {
  it("is not passed by syncs that came after it, however many keep coming (it was passed by every one while it went for its turn and its size)", async () => {
    const store = createStore({ path: ":memory:", deployment });
    // The victim: three exchanges, more than the whole budget, so it needs all of it.
    await store.ensureSession(1n, 100);
    for (const exchange of Object.values(chainedExchanges)) await store.appendExchange(exchange);
    // Every other sync has a session of its own, with one exchange: two of them fill the budget.
    const others = Array.from({ length: 230 }, (_, index) => 100n + BigInt(index));
    for (const jobId of others) {
      await store.ensureSession(jobId, 100);
      await store.appendExchange({ ...chainedExchanges.first, jobId });
    }
    const budget = createByteBudget({ capacity: 2 * store.unsignedBytes(100n) });
    const { sync, request } = syncOf(withSlowReads(store), budget);
    const answered: string[] = [];
    const running: Promise<void>[] = [];
    const other = (label: string) => {
      const jobId = others[running.length]!;
      // Each answer takes three turns of the event loop to write.
      running.push(sync({ ...request, jobId }, async () => (answered.push(label), eventLoopTurns(3)), new AbortController().signal));
    };
    for (let index = 0; index < 20; index++) {
      other("earlier");
      await eventLoopTurns(1);
    }
    const victim = settled(sync(request, async () => void answered.push("victim"), new AbortController().signal));
    // A new sync every turn of the event loop, until the victim is answered (or 200 have come after it).
    for (let index = 0; index < 200 && !victim.done; index++) {
      other("later");
      await eventLoopTurns(1);
    }
    await until(() => victim.done);
    await Promise.all(running);
    expect(victim.error).toBeUndefined();
    // At most those that took the room while it read its size, before it was in line: two fill the budget.
    const passedBy = answered.slice(0, answered.indexOf("victim")).filter((label) => label === "later").length;
    expect(passedBy).toBeLessThanOrEqual(2);
    expect(budget.held).toBe(0);
    await store.close();
  });

  it("whose session's turn is taken when its bytes come gives them back, waits for the turn holding nothing, and keeps its place ahead of syncs that came after it", async () => {
    // Room for one answer; sessions 3 and 4 have one exchange as well.
    const { store, budget, sync, turns, request } = await twoSessionsWithRoomForOneAnswer();
    for (const jobId of [3n, 4n]) {
      await store.ensureSession(jobId, 100);
      await store.appendExchange({ ...chainedExchanges.first, jobId });
    }
    const sent: bigint[] = [];
    const send = async (answer: SyncAnswer) => void sent.push(BigInt(answer.head.jobId));
    const gone = new AbortController().signal;
    // Session 2's answer holds the whole budget, its client reading nothing; session 1's sync waits in line.
    const second = stuckSend(sent);
    const syncs = [settled(sync({ ...request, jobId: 2n }, second.send, gone))];
    await until(() => sent.length === 1);
    syncs.push(settled(sync(request, send, gone)));
    await eventLoopTurns(20);
    // Session 1's chat takes its turn; session 3's sync waits in line behind session 1's.
    const chat = await turns.acquire(1n);
    const third = stuckSend(sent);
    syncs.push(settled(sync({ ...request, jobId: 3n }, third.send, gone)));
    await eventLoopTurns(20);
    expect(sent).toEqual([2n]);

    // The room comes to session 1's sync, whose turn is taken: it gives the room on (to session 3's) and holds nothing.
    second.unstick();
    await eventLoopTurns(20);
    expect(sent).toEqual([2n, 3n]);
    expect(budget.held).toBe(store.unsignedBytes(3n));
    // Session 4's sync comes after: no room, it waits in line.
    syncs.push(settled(sync({ ...request, jobId: 4n }, send, gone)));
    await eventLoopTurns(20);
    // Session 1's chat ends: its sync gets its turn, finds no room, and goes back to its place in line, ahead of session 4's.
    chat();
    await eventLoopTurns(20);
    expect(sent).toEqual([2n, 3n]);
    third.unstick();
    await until(() => syncs.every((state) => state.done));
    expect(syncs.map((state) => state.error)).toEqual([undefined, undefined, undefined, undefined]);
    expect(sent).toEqual([2n, 3n, 1n, 4n]);
    expect(budget.held).toBe(0);
    await store.close();
  });

  it("counts its bytes again under its turn once they come: the session's own exchanges recorded while it waited are in them", async () => {
    const store = createStore({ path: ":memory:", deployment });
    await store.ensureSession(1n, 100);
    await store.ensureSession(2n, 100);
    await store.appendExchange(chainedExchanges.first);
    await store.appendExchange(chainedExchanges.second);
    await store.appendExchange({ ...chainedExchanges.first, jobId: 2n });
    // Session 1's answer does not fit beside session 2's.
    const capacity = store.unsignedBytes(1n) + store.unsignedBytes(2n) - 1;
    const budget = createByteBudget({ capacity });
    const { sync, request, answers } = syncOf(store, budget);
    const stuck = stuckSend([]);
    const held = settled(sync({ ...request, jobId: 2n }, stuck.send, new AbortController().signal));
    await until(() => budget.held > 0);
    const answered = settled(sync(request, async (answer) => void answers.push(answer), new AbortController().signal));
    await eventLoopTurns(20);
    await store.appendExchange(chainedExchanges.third);
    stuck.unstick();
    await until(() => held.done && answered.done);
    expect(answered.error).toBeUndefined();
    expect(answers[0]!.exchanges).toHaveLength(3);
    expect(budget.peak).toBe(Math.min(store.unsignedBytes(1n), capacity));
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
