import { nextTranscriptHash, type SessionUsage } from "@session-jobs/protocol";
import type { OnChainSession } from "../chain/chainSession.ts";
import type { Common } from "../common.ts";
import { servedElsewhere } from "../errors.ts";
import type { SessionState, StoredExchange, Store } from "../store/storeTypes.ts";
import type { ExposurePolicy } from "./exposure.ts";
import type { Refuse } from "./refusal.ts";
import type { AuthenticatedRequest } from "./sessionRequest.ts";
import type { SessionTurns } from "./sessionTurns.ts";
import { boundUsage, type ExchangeBudget } from "./usageBounds.ts";

/** What one served exchange consists of, as the host delivered it. */
export type ServedExchange = {
  requestBody: Uint8Array;
  responseText: string;
  promptTokens: number;
  completionTokens: number;
  /** The client went away before the response ended. */
  aborted: boolean;
};

/** Held while one exchange runs; the session serves nothing else meanwhile. */
export type ExchangeLease = {
  /** Aborts when the session ends on chain while the exchange runs: stop generating, bill nothing. */
  ended: AbortSignal;
  /** Records the exchange durably and resolves with the `session` object for the response. */
  complete(exchange: ServedExchange): Promise<SessionUsage>;
  release(): void;
};

export type CreateExchangeAccountingParameters = {
  common: Common;
  store: Store;
  /** Bytes of requests and answers a session may have without a receipt before new work is refused. */
  maxUnsignedBytes: number;
  /** The host's own limit on unsigned tokens and the session terms it serves. */
  exposure: ExposurePolicy;
  turns: SessionTurns;
  checkServable: (jobId: bigint, session: OnChainSession) => Promise<SessionState | undefined>;
  refuse: Refuse;
  /** The running exchange of each session (at most one, under the session's turn), stopped when the session ends. */
  running: Map<bigint, AbortController>;
};

/** Admits an exchange only while the session's unsigned work and deposit allow it, then records what was served. */
export function createExchangeAccounting(parameters: CreateExchangeAccountingParameters) {
  const { common, store, turns, checkServable, refuse, running } = parameters;
  return {
    /**
     * Takes the session's turn for one exchange: refuses a replayed sequence, a request built on
     * another transcript than the session's, a session whose unsigned tokens reached one
     * checkpoint interval, and work the deposit cannot pay for; then consumes the sequence. Hold
     * the lease until the response is written.
     */
    async beginExchange(request: AuthenticatedRequest, budget: ExchangeBudget): Promise<ExchangeLease> {
      const release = await turns.acquire(request.jobId);
      try {
        // The session as authenticate() read it; a close that won the lock meanwhile shows here.
        const { session } = request;
        // Read under the turn, so the claim below judges the same row rather than reading it again.
        const stored = await checkServable(request.jobId, session);
        const state = await turns.claim(request, { consume: false, stored: { state: stored } });
        if (request.transcriptHash !== state.transcriptHash.toLowerCase())
          refuse(
            "session_out_of_sync",
            `the request builds on transcript ${request.transcriptHash}, but the session's is ${state.transcriptHash} after ${state.servedTokens} tokens; POST /v1/session/sync to recover the exchanges you missed`,
          );
        const unsigned = state.servedTokens - Math.max(state.signedTokens, Number(session.provenTokens));
        const unsignedLimit = parameters.exposure.unsignedLimit(state.checkpointInterval);
        if (unsigned >= unsignedLimit)
          refuse(
            "session_receipt_overdue",
            `${unsigned} tokens served without a receipt (limit ${unsignedLimit}: checkpoint interval ${state.checkpointInterval}, host limit ${parameters.exposure.unsignedLimit(Number.MAX_SAFE_INTEGER)}); sign a receipt for ${state.servedTokens} tokens first`,
          );
        // The host keeps each unreceipted exchange's request and answer for a sync: bounded in bytes too.
        const unsignedBytes = await store.unsignedBytes(request.jobId);
        if (unsignedBytes >= parameters.maxUnsignedBytes)
          refuse(
            "session_receipt_overdue",
            `${unsignedBytes} bytes of requests and answers without a receipt (limit ${parameters.maxUnsignedBytes}); sign a receipt for ${state.servedTokens} tokens first`,
          );
        const worstCase = BigInt(state.servedTokens + budget.promptTokensEstimate + budget.maxTokens);
        if (worstCase * session.pricePerToken > session.depositAmount) {
          // The completion tokens left once the deposit has paid for what was served and this prompt.
          const fits = session.depositAmount / session.pricePerToken - BigInt(state.servedTokens + budget.promptTokensEstimate);
          refuse(
            "session_deposit_exhausted",
            `the deposit pays for ${session.maxTokens} tokens; ${state.servedTokens} served, this request may use up to ${budget.promptTokensEstimate + budget.maxTokens}; ` +
              (fits > 0n ? `send max_tokens of at most ${fits}, or close` : "close") +
              " the session and open a new one with a larger deposit",
          );
        }
        if (!(await store.claimSequence(request.jobId, request.sequence))) refuse("session_replayed", `sequence ${request.sequence} was already used`);
      } catch (error) {
        release();
        throw error;
      }
      const ended = new AbortController();
      running.set(request.jobId, ended);

      return {
        ended: ended.signal,
        async complete(served) {
          // A backend that reports more than it can have used is billed at the bound instead: billing
          // its claim would exceed the deposit reserved and the client's count check (it would not sign).
          const { billed, over } = boundUsage(served, budget, served.responseText);
          for (const field of over) common.metrics.upstreamUsageClamped.inc({ field });
          if (over.length > 0)
            common.logger.warn("the backend reported more tokens than it can have used; billed at the bound", {
              jobId: request.jobId,
              reported: { promptTokens: served.promptTokens, completionTokens: served.completionTokens },
              billed,
            });
          const exchange = { ...served, ...billed };
          const state = (await store.session(request.jobId))!;
          // The session moved on under this exchange: another process took its turn (this one's lock
          // went with its lock connection). Recorded on top, the transcript would fork.
          if (state.transcriptHash.toLowerCase() !== request.transcriptHash) throw servedElsewhere(request.jobId);
          const cumulativeTokens = state.servedTokens + exchange.promptTokens + exchange.completionTokens;
          const transcriptHash = nextTranscriptHash(state.transcriptHash, exchange);
          const record: StoredExchange = {
            jobId: request.jobId,
            sequence: request.sequence,
            promptTokens: exchange.promptTokens,
            completionTokens: exchange.completionTokens,
            cumulativeTokens,
            transcriptHash,
            aborted: exchange.aborted,
            previousTranscriptHash: state.transcriptHash,
            requestBody: exchange.requestBody,
            requestSignature: request.signature,
            responseText: exchange.responseText,
          };
          await store.appendExchange(record);
          common.metrics.tokensServed.inc({ kind: "prompt" }, exchange.promptTokens);
          common.metrics.tokensServed.inc({ kind: "completion" }, exchange.completionTokens);
          return {
            jobId: request.jobId.toString(),
            promptTokens: exchange.promptTokens,
            completionTokens: exchange.completionTokens,
            cumulativeTokens: cumulativeTokens.toString(),
            transcriptHash,
          };
        },
        release() {
          if (running.get(request.jobId) === ended) running.delete(request.jobId);
          release();
        },
      };
    },
  };
}
