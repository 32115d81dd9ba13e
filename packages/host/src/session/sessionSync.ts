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
     * so that a client that missed the end of an exchange can check and sign for it. The answer's
     * bytes are counted in the sync budget before the session's turn is taken (a sync waiting for
     * bytes holds no turn: the session's chat and close go on, here and on other processes), and
     * both stay held until `send` is done: one sync answer per session at a time, and at most the
     * budget's bytes for all of them. A sync whose client is gone (`clientGone`) before it holds
     * its bytes leaves the queue and answers nothing.
     */
    async sync(request: AuthenticatedRequest, send: (answer: SyncAnswer) => Promise<void>, clientGone: AbortSignal): Promise<void> {
      let bytes = await store.unsignedBytes(request.jobId);
      for (;;) {
        const releaseBytes = await syncBudget.take(bytes, clientGone);
        if (!releaseBytes) return;
        try {
          const release = await turns.acquire(request.jobId);
          try {
            // Counted before the turn: the session's own exchanges recorded meanwhile are counted again, the turn let go.
            const unsigned = await store.unsignedBytes(request.jobId);
            if (unsigned > bytes) {
              bytes = unsigned;
              continue;
            }
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
            return;
          } finally {
            release();
          }
        } finally {
          releaseBytes();
        }
      }
    },
  };
}
