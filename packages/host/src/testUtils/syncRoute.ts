/** TEST HELPER: `POST /v1/session/sync` on a store, without HTTP. */
import { createCommon } from "../common.ts";
import { HostError } from "../errors.ts";
import { createByteBudget } from "../http/byteBudget.ts";
import type { AuthenticatedRequest } from "../session/sessionRequest.ts";
import { createSessionSync, type SyncAnswer } from "../session/sessionSync.ts";
import { createSessionTurns } from "../session/sessionTurns.ts";
import type { Store } from "../store/storeTypes.ts";
import { exchange, hash } from "./storeFixtures.ts";

/** The sync route on `store` (with `syncBudget`, else 1 MiB), its session turns, a signed request for it (session 1, sequence 2), and the answers it sends. */
export function syncOf(store: Store, syncBudget = createByteBudget({ capacity: 1 << 20 })) {
  const refuse = (code: ConstructorParameters<typeof HostError>[0], message: string): never => {
    throw new HostError(code, message);
  };
  const turns = createSessionTurns({ store, exposure: { refusal: () => undefined, unsignedLimit: () => 100 }, refuse });
  const { sync } = createSessionSync({
    common: createCommon({ logLevel: "silent", processMetrics: false }),
    store,
    turns,
    syncBudget,
  });
  const request = { jobId: 1n, sequence: 2n, session: { checkpointInterval: 100n } } as AuthenticatedRequest;
  return { sync, turns, request, answers: [] as SyncAnswer[] };
}

/** Three exchanges of session 1, each built on the one before: 3, 5 and 7 tokens, sequences 1, 3 and 5. */
export const chainedExchanges = {
  first: { ...exchange, sequence: 1n, promptTokens: 1, completionTokens: 2, cumulativeTokens: 3, transcriptHash: hash("aa") },
  second: {
    ...exchange,
    sequence: 3n,
    promptTokens: 1,
    completionTokens: 1,
    cumulativeTokens: 5,
    transcriptHash: hash("bb"),
    previousTranscriptHash: hash("aa"),
  },
  third: {
    ...exchange,
    sequence: 5n,
    promptTokens: 1,
    completionTokens: 1,
    cumulativeTokens: 7,
    transcriptHash: hash("cc"),
    previousTranscriptHash: hash("bb"),
  },
};
