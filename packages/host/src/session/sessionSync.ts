import type { SyncResponse } from "@session-jobs/protocol";
import type { ByteBudget } from "../http/byteBudget.ts";
import type { Common } from "../common.ts";
import type { StoredExchange, Store } from "../store/storeTypes.ts";
import type { AuthenticatedRequest } from "./sessionRequest.ts";
import type { SessionTurns } from "./sessionTurns.ts";

/** A sync answer before encoding: its fields, then the exchanges the client has not signed for. */
export type SyncAnswer = { head: Omit<SyncResponse, "exchanges">; exchanges: StoredExchange[] };

export type CreateSessionSyncParameters = {
  common: Common;
  store: Store;
  turns: SessionTurns;
  /** Bytes that sync answers being written may hold together. */
  syncBudget: ByteBudget;
};

/** Hands a client that missed the end of an exchange what it needs to check and sign for it. */
export function createSessionSync({ common, store, turns, syncBudget }: CreateSessionSyncParameters) {
  return {
    /**
     * `POST /v1/session/sync`: consumes the request's sequence and hands `send` the newest receipt
     * and every exchange after it, each with the client's signed request and the text delivered,
     * so that a client that missed the end of an exchange can check and sign for it. It never waits
     * for one of its two holds while it keeps the other: it waits for the session's turn holding no
     * bytes of the sync budget (syncs queued behind the session's own chat leave the budget to other
     * sessions), then counts the answer's bytes under the turn and takes them only if they are free
     * now; if not, it gives the turn back (the session's chat and close go on, here and on other
     * processes), waits for room in the budget's queue holding nothing, and starts again, then
     * passing those queued since. Both stay held until `send` is done: one sync answer per session
     * at a time, and at most the budget's bytes for all of them. A sync whose client is gone
     * (`clientGone`) before it holds both answers nothing.
     */
    async sync(request: AuthenticatedRequest, send: (answer: SyncAnswer) => Promise<void>, clientGone: AbortSignal): Promise<void> {
      for (let waited = false; ; waited = true) {
        const release = await turns.acquire(request.jobId);
        let bytes: number;
        try {
          if (clientGone.aborted) return;
          bytes = await store.unsignedBytes(request.jobId);
          const releaseBytes = syncBudget.takeNow(bytes, { overtake: waited });
          if (releaseBytes) {
            try {
              await answer(request, send);
              return;
            } finally {
              releaseBytes();
            }
          }
        } finally {
          release();
        }
        const room = await syncBudget.take(bytes, clientGone);
        if (!room) return;
        room();
      }
    },
  };

  /** Answers a sync that holds its session's turn and its bytes. */
  async function answer(request: AuthenticatedRequest, send: (answer: SyncAnswer) => Promise<void>): Promise<void> {
    await turns.claim(request, { consume: true });
    // One snapshot, read before the barrier: a receipt committed meanwhile (here or by another process) drops the requests it covers.
    const { state, receipt, exchanges } = (await store.syncSnapshot(request.jobId))!;
    await store.synced(); // What the client signs over is on disk (exchanges are: each holds the session's turn until synced).
    common.metrics.sessionSyncs.inc();
    await send({
      head: {
        jobId: request.jobId.toString(),
        lastSequence: state.lastSequence.toString(),
        servedTokens: String(state.servedTokens),
        transcriptHash: state.transcriptHash,
        receipt: receipt
          ? {
              jobId: request.jobId.toString(),
              cumulativeTokens: String(receipt.cumulativeTokens),
              transcriptHash: receipt.transcriptHash,
              signature: receipt.signature,
            }
          : null,
      },
      exchanges,
    });
  }
}
