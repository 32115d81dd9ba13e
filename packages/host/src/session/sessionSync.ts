import type { SyncResponse } from "@session-jobs/protocol";
import type { ByteBudget } from "../http/byteBudget.ts";
import type { Common } from "../common.ts";
import type { StoredExchange, Store } from "../store/storeTypes.ts";
import type { AuthenticatedRequest } from "./sessionRequest.ts";
import type { SessionTurns } from "./sessionTurns.ts";

/** A sync answer before encoding: its fields, then the exchanges kept (those the newest receipt alone covers, then those not signed for). */
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
     * and every exchange after the receipt before it, each with the client's signed request and the
     * text delivered, so that a client that missed the end of an exchange can check and sign for
     * it, and one restored from state saved before the newest receipt gets back what it signed for. Both the
     * session's turn and the answer's bytes of the sync budget stay held until `send` is done (one
     * sync answer per session at a time, at most the budget's bytes for all of them), and the sync
     * never waits for one while it holds the other: it waits for the turn holding no bytes (syncs
     * queued behind the session's own chat leave the budget to other sessions), counts its bytes
     * under the turn and takes them if they are free at once and nobody waits for bytes; if not, it
     * gives the turn back (the session's chat and close go on, here and on other processes) and
     * waits in the budget's line holding nothing. Once its bytes come it keeps them and takes the
     * turn only if it is free at once; if not, it gives the bytes back and starts again, keeping the
     * place in line it got when it came: those that came after it never pass it while it waits there.
     * A sync whose client is gone (`clientGone`) before it holds both answers nothing.
     */
    async sync(request: AuthenticatedRequest, send: (answer: SyncAnswer) => Promise<void>, clientGone: AbortSignal): Promise<void> {
      const place = syncBudget.place();
      for (;;) {
        const release = await turns.acquire(request.jobId);
        let bytes: number;
        try {
          if (clientGone.aborted) return;
          bytes = await store.syncBytes(request.jobId);
          const releaseBytes = syncBudget.takeNow(bytes);
          if (releaseBytes) return await answerHolding(releaseBytes, request, send);
        } finally {
          release();
        }
        if (await inLine(request, send, clientGone, { bytes, place })) return;
      }
    },
  };

  /**
   * Waits in the budget's line at `place` holding no turn; once its bytes are held, takes the
   * session's turn only if it is free at once and answers, counting its bytes again under the turn
   * (the session's own exchanges recorded meanwhile: it goes back to its place for more if they
   * grew). True once the sync is done (answered, or its client gone); false if the turn was taken,
   * its bytes given back.
   */
  async function inLine(
    request: AuthenticatedRequest,
    send: (answer: SyncAnswer) => Promise<void>,
    clientGone: AbortSignal,
    line: { bytes: number; place: number },
  ): Promise<boolean> {
    let { bytes } = line;
    for (;;) {
      const releaseBytes = await syncBudget.take(bytes, clientGone, line.place);
      if (!releaseBytes) return true;
      try {
        const release = await turns.tryAcquire(request.jobId);
        if (!release) return false;
        try {
          if (clientGone.aborted) return true;
          const unsigned = await store.syncBytes(request.jobId);
          if (unsigned <= bytes) {
            await answer(request, send);
            return true;
          }
          bytes = unsigned;
        } finally {
          release();
        }
      } finally {
        releaseBytes();
      }
    }
  }

  /** Answers a sync that holds its session's turn and `releaseBytes`' bytes, then gives the bytes back. */
  async function answerHolding(releaseBytes: () => void, request: AuthenticatedRequest, send: (answer: SyncAnswer) => Promise<void>): Promise<void> {
    try {
      await answer(request, send);
    } finally {
      releaseBytes();
    }
  }

  /** Answers a sync that holds its session's turn and its bytes. */
  async function answer(request: AuthenticatedRequest, send: (answer: SyncAnswer) => Promise<void>): Promise<void> {
    await turns.claim(request, { consume: true });
    // One snapshot, read before the barrier: a receipt committed meanwhile (here or by another process) drops the requests the receipt before it covers.
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
