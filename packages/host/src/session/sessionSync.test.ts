import { describe, expect, it } from "vitest";
import { createByteBudget } from "../http/byteBudget.ts";
import { createStore } from "../store/sqliteStore.ts";
import { settled, until } from "../testUtils/promiseState.ts";
import { deployment } from "../testUtils/storeFixtures.ts";
import { chainedExchanges, syncOf } from "../testUtils/syncRoute.ts";

describe("a sync waiting for the byte budget", () => {
  it("holds no session's turn while it waits, and leaves the queue when its client hangs up: the bystander's chat and close go on while another session's answer is stuck", async () => {
    const store = createStore({ path: ":memory:", deployment });
    await store.ensureSession(1n, 100);
    await store.ensureSession(2n, 100);
    await store.appendExchange(chainedExchanges.first);
    await store.appendExchange({ ...chainedExchanges.first, jobId: 2n });
    // Room for one answer: session 1's, whose client never reads it (its `send` never ends).
    const budget = createByteBudget({ capacity: store.unsignedBytes(1n) });
    const { sync, turns, request } = syncOf(store, budget);
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

  it("counts the answer's bytes again when the session's own exchanges grew while it waited for its turn", async () => {
    const store = createStore({ path: ":memory:", deployment });
    await store.ensureSession(1n, 100);
    await store.appendExchange(chainedExchanges.first);
    const budget = createByteBudget({ capacity: 1 << 20 });
    const { sync, turns, request, answers } = syncOf(store, budget);
    const releaseTurn = await turns.acquire(1n); // the session's chat holds its turn
    const answered = settled(sync({ ...request, sequence: 4n }, async (answer) => void answers.push(answer), new AbortController().signal));
    await until(() => budget.held > 0);
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
