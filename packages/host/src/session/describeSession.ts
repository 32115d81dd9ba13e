import type { Hex } from "viem";
import type { Store } from "../store/storeTypes.ts";

/** `GET /v1/session/:jobId`. */
export type SessionView = {
  jobId: string;
  servedTokens: string;
  signedTokens: string;
  provenTokens: string;
  unsignedTokens: string;
  checkpointInterval: string;
  transcriptHash: Hex;
  lastSequence: string;
  closed: boolean;
  lastExchange: { sequence: string; promptTokens: number; completionTokens: number; cumulativeTokens: string; transcriptHash: Hex; aborted: boolean } | null;
};

/** What the host knows about a session; `undefined` when it has served nothing for it. */
export async function describeSession(store: Store, jobId: bigint): Promise<SessionView | undefined> {
  // One snapshot (PostgreSQL: an exchange committed between two separate reads, by any request, showed as the last of an older head).
  const read = await store.sessionWithLastExchange(jobId);
  if (!read) return undefined;
  const { state, lastExchange: last } = read;
  await store.synced(); // Show nothing a power cut could still take back.
  return {
    jobId: jobId.toString(),
    servedTokens: String(state.servedTokens),
    signedTokens: String(state.signedTokens),
    provenTokens: String(state.provenTokens),
    unsignedTokens: String(Math.max(0, state.servedTokens - state.signedTokens)),
    checkpointInterval: String(state.checkpointInterval),
    transcriptHash: state.transcriptHash,
    lastSequence: state.lastSequence.toString(),
    closed: state.closed,
    lastExchange: last
      ? {
          sequence: last.sequence.toString(),
          promptTokens: last.promptTokens,
          completionTokens: last.completionTokens,
          cumulativeTokens: String(last.cumulativeTokens),
          transcriptHash: last.transcriptHash,
          aborted: last.aborted,
        }
      : null,
  };
}
