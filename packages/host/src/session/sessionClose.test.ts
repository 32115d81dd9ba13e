/**
 * A close that fails before settling clears its session's closing mark; when the store cannot
 * clear it at that moment (PostgreSQL restarting), it is cleared once the store is back, within
 * the lease, and never after (the mark may then be another close's).
 */
import { describe, expect, it } from "vitest";
import { HostError } from "../errors.ts";
import type { Store } from "../store/storeTypes.ts";
import type { SessionCache } from "../chain/chainSession.ts";
import { createSessionClose } from "./sessionClose.ts";
import type { AuthenticatedRequest } from "./sessionRequest.ts";
import type { SessionTurns } from "./sessionTurns.ts";

function closeWith(closingLeaseMs: number) {
  let storeDown = false;
  const clears: boolean[] = [];
  const store = {
    markClosing: async () => {
      if (storeDown) throw new HostError("storage_unavailable", "storage unavailable: PostgreSQL read ECONNRESET; retry later");
    },
    clearClosing: async () => {
      clears.push(!storeDown);
      if (storeDown) throw new HostError("storage_unavailable", "storage unavailable: PostgreSQL connect ECONNREFUSED; retry later");
    },
  } as unknown as Store;
  const turns = { acquire: async () => () => undefined, claim: async () => undefined } as unknown as SessionTurns;
  const close = createSessionClose({ store, sessions: {} as SessionCache, turns, closingLeaseMs, running: new Map() });
  return {
    clears,
    setStoreDown: (down: boolean) => void (storeDown = down),
    begin: () => close.beginClose({ jobId: 7n } as AuthenticatedRequest),
  };
}

describe("a failed close's mark", () => {
  it("is cleared once the store takes writes again, when it could not be cleared at the failure", async () => {
    const { clears, setStoreDown, begin } = closeWith(240_000);
    const turn = await begin();
    setStoreDown(true);
    await expect(turn.abandon()).rejects.toMatchObject({ code: "storage_unavailable" });
    setStoreDown(false);
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

  it("is not cleared after the first half of its lease, when it may be another close's", async () => {
    const { clears, setStoreDown, begin } = closeWith(1_000);
    const turn = await begin();
    setStoreDown(true);
    await expect(turn.abandon()).rejects.toMatchObject({ code: "storage_unavailable" });
    setStoreDown(false);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(clears).toEqual([false]);
  });
});
