import { createCheckpointSignatures, type CreateCheckpointSignaturesParameters } from "./checkpointSignatures.ts";
import { describeSession } from "./describeSession.ts";
import { createExchangeAccounting, type CreateExchangeAccountingParameters } from "./exchangeAccounting.ts";
import { createReceipts, type CreateReceiptsParameters } from "./receipts.ts";
import { createRefuse } from "./refusal.ts";
import { createSessionAuthentication, type CreateSessionAuthenticationParameters } from "./sessionAuthentication.ts";
import { createSessionClose, type CreateSessionCloseParameters } from "./sessionClose.ts";
import { createSessionSync, type CreateSessionSyncParameters } from "./sessionSync.ts";
import { createSessionTurns, type CreateSessionTurnsParameters } from "./sessionTurns.ts";

// What callers of the protocol import with it.
export type { ExchangeLease } from "./exchangeAccounting.ts";
export type { SessionView } from "./describeSession.ts";
export { parseSessionHeaders } from "./sessionRequest.ts";

/** What the session's modules need from outside; the state they share is made here. */
export type CreateSessionProtocolParameters = Omit<CreateSessionAuthenticationParameters, "refuse"> &
  CreateCheckpointSignaturesParameters &
  Pick<CreateSessionTurnsParameters, "exposure"> &
  Pick<CreateExchangeAccountingParameters, "maxUnsignedBytes"> &
  Pick<CreateReceiptsParameters, "onReceiptStored"> &
  Pick<CreateSessionSyncParameters, "syncBudget"> &
  Pick<CreateSessionCloseParameters, "closingLeaseMs">;

/**
 * The session rules of the host: who may spend, how much, in which order, and which receipts
 * count. Chain reads go through the session cache; every decision that moves money is recorded
 * in the store before the caller answers. Each job is a module of its own; this wires them to the
 * state they share: each session's turn and the exchanges running (a close under way is in the store, shared by every process).
 */
export function createSessionProtocol(parameters: CreateSessionProtocolParameters) {
  const { common, store, sessions, exposure } = parameters;
  const refuse = createRefuse(common.metrics.requestsRefused);
  const turns = createSessionTurns({ store, exposure, refuse });
  const running = new Map<bigint, AbortController>();
  const signatures = createCheckpointSignatures(parameters);
  const authentication = createSessionAuthentication({ ...parameters, refuse });
  const { beginExchange } = createExchangeAccounting({ ...parameters, turns, checkServable: authentication.checkServable, refuse, running });
  const { sessionEnded, beginClose } = createSessionClose({ store, sessions, turns, closingLeaseMs: parameters.closingLeaseMs, running });
  const { acceptReceipt } = createReceipts({ ...parameters, readSession: authentication.readSession, isSignedBy: signatures.isSignedBy });
  const { sync } = createSessionSync({ ...parameters, turns });

  return {
    authenticate: authentication.authenticate,
    beginExchange,
    sessionEnded,
    beginClose,
    acceptReceipt,
    sync,
    /** What the host knows about a session. */
    describe: (jobId: bigint) => describeSession(store, jobId),
  };
}

export type SessionProtocol = ReturnType<typeof createSessionProtocol>;
