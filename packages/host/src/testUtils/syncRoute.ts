/** TEST HELPER: `POST /v1/session/sync` on a store, without HTTP. */
import { createCommon } from "../common.ts";
import { HostError } from "../errors.ts";
import { createByteBudget } from "../http/byteBudget.ts";
import type { AuthenticatedRequest } from "../session/sessionRequest.ts";
import { createSessionSync, type SyncAnswer } from "../session/sessionSync.ts";
import { createSessionTurns } from "../session/sessionTurns.ts";
import type { Store } from "../store/storeTypes.ts";

/** The sync route on `store`, a signed request for it (session 1, sequence 2), and the answers it sends. */
export function syncOf(store: Store) {
  const refuse = (code: ConstructorParameters<typeof HostError>[0], message: string): never => {
    throw new HostError(code, message);
  };
  const turns = createSessionTurns({ store, exposure: { refusal: () => undefined, unsignedLimit: () => 100 }, refuse });
  const { sync } = createSessionSync({
    common: createCommon({ logLevel: "silent", processMetrics: false }),
    store,
    turns,
    syncBudget: createByteBudget({ capacity: 1 << 20 }),
  });
  const request = { jobId: 1n, sequence: 2n, session: { checkpointInterval: 100n } } as AuthenticatedRequest;
  return { sync, request, answers: [] as SyncAnswer[] };
}
