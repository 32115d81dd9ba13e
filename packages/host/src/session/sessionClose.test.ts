/**
 * A close that fails before settling clears its session's closing mark; when the store cannot
 * clear it at that moment (PostgreSQL restarting), it is cleared once the store is back, within
 * the lease, and never after (the mark may then be another close's).
 */
import { describe, expect, it } from "vitest";
import { HostError } from "../errors.ts";
import type { Store, Submission } from "../store/storeTypes.ts";
import type { SessionCache } from "../chain/chainSession.ts";
import { createKeyedMutex } from "../mutex.ts";
import { createStore } from "../store/sqliteStore.ts";
import { deployment } from "../testUtils/storeFixtures.ts";
import { createSessionClose } from "./sessionClose.ts";
import { createSessionTurns } from "./sessionTurns.ts";
import type { AuthenticatedRequest } from "./sessionRequest.ts";
import type { SessionTurns } from "./sessionTurns.ts";

function closeWith(closingLeaseMs: number, settlements: Partial<Submission>[] = []) {
  let storeDown = false;
  const clears: boolean[] = [];
  const store = {
    submissionsOfJob: async () => {
      if (storeDown) throw new HostError("storage_unavailable", "storage unavailable: PostgreSQL connect ECONNREFUSED; retry later");
      return settlements;
    },
    markClosing: async () => {
      if (storeDown) throw new HostError("storage_unavailable", "storage unavailable: PostgreSQL read ECONNRESET; retry later");
    },
    clearClosing: async () => {
      clears.push(!storeDown);
      if (storeDown) throw new HostError("storage_unavailable", "storage unavailable: PostgreSQL connect ECONNREFUSED; retry later");
    },
  } as unknown as Store;
  // The session's turn, as every process sharing the store takes it: one close (or deferred clear) at a time. A turn is
  // held until the lock connection it was taken on is lost (`loseLockConnection`); one taken after is held again.
  const turn = createKeyedMutex<bigint>();
  let lockConnection = 0;
  const turns = {
    acquire: async (jobId: bigint) => {
      const takenOn = lockConnection;
      return Object.assign(await turn.acquire(jobId), { held: () => takenOn === lockConnection });
    },
    claim: async () => undefined,
  } as unknown as SessionTurns;
  const close = createSessionClose({ store, sessions: {} as SessionCache, turns, closingLeaseMs, running: new Map() });
  const begin = () => close.beginClose({ jobId: 7n } as AuthenticatedRequest);
  return {
    clears,
    setStoreDown: (down: boolean) => void (storeDown = down),
    loseLockConnection: () => void lockConnection++,
    begin,
    /** Begins a close and fails it while the store is down (its mark cannot be cleared then); the store is back after. */
    async failWhileStoreDown() {
      const turn = await begin();
      storeDown = true;
      await expect(turn.abandon()).rejects.toMatchObject({ code: "storage_unavailable" });
      turn.release();
      storeDown = false;
    },
  };
}

/** What the close route does when settling fails: abandon the close, then give its turn back. */
async function abandonAndRelease(turn: { abandon(): Promise<void>; release(): void }) {
  await turn.abandon();
  turn.release();
}

describe("a failed close's mark", () => {
  it("is cleared once the store takes writes again, when it could not be cleared at the failure", async () => {
    const { clears, failWhileStoreDown } = closeWith(240_000);
    await failWhileStoreDown();
    // It used to stay for the whole lease: every process, and every retried close, refused the session for minutes.
    await expect.poll(() => clears.at(-1), { timeout: 30_000 }).toBe(true);
  }, 60_000);

  it("is cleared once the store is back when the mark's own commit went unanswered (it may hold)", async () => {
    const { clears, setStoreDown, begin } = closeWith(240_000);
    setStoreDown(true);
    await expect(begin()).rejects.toMatchObject({ code: "storage_unavailable" });
    setStoreDown(false);
    await expect.poll(() => clears.at(-1), { timeout: 30_000 }).toBe(true);
  }, 60_000);

  it("holds when the close signed its settlement before failing (a store write after the send): that transaction may yet be mined", async () => {
    await Promise.all(
      (["signed", "sent", "confirmed"] as const).map(async (status) => {
        const { clears, begin, failWhileStoreDown } = closeWith(240_000, [
          { kind: "checkpoint", status: "sent" },
          { kind: "final", status },
        ]);
        // The store answers at the failure: the mark stays (it used to be cleared, and the session served while its settlement was on its way).
        await abandonAndRelease(await begin());
        expect(clears).toEqual([]);
        // The store was down at the failure: once back, the mark stays too.
        await failWhileStoreDown();
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        expect(clears).toEqual([]);
      }),
    );
  }, 60_000);

  it("is cleared when the close's settlement was dropped or reverted (nothing will settle)", async () => {
    const { clears, begin } = closeWith(240_000, [
      { kind: "final", status: "dropped" },
      { kind: "complete", status: "reverted" },
    ]);
    await abandonAndRelease(await begin());
    expect(clears).toEqual([true]);
  });

  it("is never cleared under a later close of the session (retried on this process or another): that close holds the session's turn while it settles", async () => {
    const { clears, setStoreDown, begin } = closeWith(240_000);
    setStoreDown(true);
    await expect(begin()).rejects.toMatchObject({ code: "storage_unavailable" });
    setStoreDown(false);
    // The client retries its close once PostgreSQL is back; it marks the session and settles.
    const later = await begin();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    // The failed close's retries came due meanwhile: clearing now would have the session served while it settles.
    expect(clears).toEqual([]);
    await abandonAndRelease(later);
    expect(clears).toEqual([true]);
  });

  it("is not cleared by a close whose turn went with the lock connection (another process may hold the turn, closing the session itself), but under the turn taken anew", async () => {
    const { clears, begin, loseLockConnection } = closeWith(240_000);
    const turn = await begin();
    loseLockConnection();
    // It used to clear at once, without the turn: a close another process had begun meanwhile lost its mark, and the session was served while it settled.
    await expect(turn.abandon()).rejects.toMatchObject({ code: "storage_unavailable" });
    expect(clears).toEqual([]);
    turn.release();
    await expect.poll(() => clears, { timeout: 30_000 }).toEqual([true]);
  }, 60_000);

  it("is not cleared when another process took the close over meanwhile: only the lease this close marked is cleared", async () => {
    const store = createStore({ path: ":memory:", deployment });
    const refuse = (code: ConstructorParameters<typeof HostError>[0], message: string): never => {
      throw new HostError(code, message);
    };
    const turns = createSessionTurns({ store, exposure: { refusal: () => undefined, unsignedLimit: () => 100 }, refuse });
    const close = createSessionClose({ store, sessions: {} as SessionCache, turns, closingLeaseMs: 240_000, running: new Map() });
    const closing = await close.beginClose({ jobId: 7n, sequence: 1n, session: { checkpointInterval: 100n } } as AuthenticatedRequest);
    // Another process took the close over (this one's lock connection went before it heard) and marked the session with its own lease.
    await store.markClosing(7n, 240_000, "another process's close");
    // This close fails: it used to clear the mark whoever's it was, and the session was served while the other close settled.
    await abandonAndRelease(closing);
    expect(store.session(7n)).toMatchObject({ closing: true });
    await store.close();
  });

  it("is not cleared after the first half of its lease, when it may be another close's", async () => {
    const { clears, failWhileStoreDown } = closeWith(1_000);
    await failWhileStoreDown();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(clears.filter((cleared) => cleared)).toEqual([]);
  });
});
