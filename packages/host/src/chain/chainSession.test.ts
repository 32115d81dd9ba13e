import { describe, expect, it } from "vitest";
import type { OnChainSession } from "@session-jobs/protocol";
import { createSessionCache } from "./chainSession.ts";

const active = { status: "active", provenTokens: 0n } as OnChainSession;

/** A cache over a chain whose reads the test answers by hand, on a clock and a watcher the test moves. */
function setUp(options: { maxAgeMs?: number } = {}) {
  let clock = 1_000;
  let reported: { since: number; until: number } | undefined;
  const reads: { jobId: bigint; answer: (session: OnChainSession) => void }[] = [];
  const cache = createSessionCache({
    read: (jobId) => new Promise((resolve) => reads.push({ jobId, answer: resolve })),
    maxAgeMs: options.maxAgeMs ?? 5_000,
    now: () => clock,
    reportedEndings: () => reported,
  });
  /** Reads the session, answering the chain read (if one is made) with `onChain`. */
  const get = async (onChain: OnChainSession = active) => {
    const before = reads.length;
    const pending = cache.get(1n);
    if (reads.length > before) reads.at(-1)!.answer(onChain);
    return pending;
  };
  return {
    cache,
    reads,
    get,
    advance: (ms: number) => (clock += ms),
    /** The watcher began at `since` and has just completed a round (every ending up to now reported). */
    round: (since = 0) => (reported = { since, until: clock }),
    now: () => clock,
  };
}

/** Reads within maxAgeMs (5 s) of the entry's freshness come from the cache; the first one at 5 s goes to the chain. */
async function expectExpiryIn5s({ get, reads, advance }: ReturnType<typeof setUp>) {
  const before = reads.length;
  advance(4_999);
  await get();
  expect(reads).toHaveLength(before);
  advance(1);
  await get();
  expect(reads).toHaveLength(before + 1);
}

describe("session cache", () => {
  it("reads an active session again after maxAgeMs when no watcher reports endings", async () => {
    const cache = setUp();
    await cache.get();
    await expectExpiryIn5s(cache);
  });

  it("does not read an active session again while the settlement watcher completes rounds", async () => {
    const { get, reads, advance, round } = setUp();
    await get();
    for (let second = 0; second < 60; second++) {
      advance(1_000);
      round();
      await get();
    }
    expect(reads).toHaveLength(1);
  });

  it("keeps the bound when the watcher stops: read again maxAgeMs after its last complete round", async () => {
    const cache = setUp();
    await cache.get();
    cache.advance(20_000);
    cache.round(); // the last round that completes
    await expectExpiryIn5s(cache);
    expect(cache.reads).toHaveLength(2);
  });

  it("a round of a watcher begun after the read does not vouch for it (an ending before the watch began is never reported)", async () => {
    const { get, reads, advance, round, now } = setUp();
    await get();
    advance(1_000);
    const since = now();
    advance(5_000);
    round(since);
    await get();
    expect(reads).toHaveLength(2);
  });

  it("an ending reported while a read is on its way wins over the active session the read returns", async () => {
    const { cache, reads, round } = setUp();
    const pending = cache.get(1n);
    cache.update(1n, { status: "completed" });
    round();
    reads[0]!.answer(active);
    expect((await pending).status).toBe("completed");
    expect((await cache.get(1n)).status).toBe("completed");
    expect(reads).toHaveLength(1);
  });

  it("serves an ended session as ended, however fresh the watcher is", async () => {
    const { cache, get, reads, advance, round } = setUp();
    await get();
    cache.update(1n, { status: "timedOut" });
    advance(1_000);
    round();
    expect((await get()).status).toBe("timedOut");
    expect(reads).toHaveLength(1);
  });

  it("never lowers proven tokens it learned from the host's own proof below what a read returns", async () => {
    const { cache, reads } = setUp();
    const pending = cache.get(1n);
    cache.update(1n, { provenTokens: 40n });
    reads[0]!.answer({ ...active, provenTokens: 10n });
    expect((await pending).provenTokens).toBe(40n);
  });

  it("gives a session's terms from an entry however old (the proof submitter's deadline check reads nothing), and reads only when it has none", async () => {
    const { cache, get, reads, advance } = setUp();
    const terms = cache.terms(1n);
    reads[0]!.answer(active);
    await terms;
    advance(3_600_000);
    await cache.terms(1n);
    expect(reads).toHaveLength(1);
    await get();
    expect(reads).toHaveLength(2); // a request still reads a stale active entry again
  });
});
