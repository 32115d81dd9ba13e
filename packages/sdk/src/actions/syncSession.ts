import type { HostResponseError, HostUnreachableError, SessionHostError } from "../errors/host.ts";
import type {
  SessionDisputedError,
  SessionProtocolError,
  TokenCountMismatchError,
  TranscriptMismatchError,
  UndeliveredAnswersError,
  UnrecordedAnswersError,
} from "../errors/session.ts";
import { syncWithHost, type SyncResult } from "../session/sync.ts";
import { acquireSessionLock, type HostRequestOptions } from "../session/transport.ts";
import type { CountCheckOptions, Session } from "../session/types.ts";

export type SyncSessionParameters = HostRequestOptions & {
  /** Overrides the session's count-check bounds for the recovered exchanges. */
  countCheck?: CountCheckOptions | undefined;
};

export type SyncSessionReturnType = SyncResult;

export type SyncSessionErrorType =
  | SessionHostError
  | HostResponseError
  | HostUnreachableError
  | TokenCountMismatchError
  | TranscriptMismatchError
  | SessionDisputedError
  | SessionProtocolError
  | UndeliveredAnswersError
  | UnrecordedAnswersError;

/**
 * Brings a session back in step with its host after the client missed the end of an exchange: a
 * stream that broke off or was aborted, or a process that died and resumed from saved state
 * ({@link deserializeSession}). The host answers (`POST /v1/session/sync`) with its newest receipt
 * and the exchanges it keeps (those that receipt alone covers and those after it); each must carry the session key's signature over its request at
 * that point of the transcript and pass the same count check as a live answer. The client then
 * signs one receipt covering them and returns their text, so an app can show what it missed.
 * A session restored from a save older than a receipt it had already signed also gets back the
 * exchanges that receipt covers which the host still keeps (`signedBefore`, not signed again);
 * `unrecoveredTokens` counts those it signed for whose text the host no longer keeps.
 *
 * `chat`, `streamChat` and `closeSession` call this by themselves after a broken exchange or a
 * `deserializeSession`; call it directly to be sure to get the recovered text (a chat whose own
 * request fails after its sync has signed for them but cannot return them).
 *
 * @example
 * const session = deserializeSession(saved);
 * const { recovered, unrecoveredTokens } = await syncSession(session);
 * for (const exchange of recovered) console.log(exchange.aborted ? "(cut off) " : "", exchange.text);
 * if (unrecoveredTokens > 0n) console.log(`${unrecoveredTokens} paid tokens of earlier answers could not be recovered`);
 */
export async function syncSession(session: Session, parameters: SyncSessionParameters = {}): Promise<SyncSessionReturnType> {
  const release = await acquireSessionLock(session);
  try {
    return await syncWithHost(session, parameters);
  } finally {
    release();
  }
}
