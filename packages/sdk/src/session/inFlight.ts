import { SessionClosingError } from "../errors/session.ts";
import { followSignal } from "./signals.ts";
import type { Session } from "./types.ts";

const inFlight = new WeakMap<Session, Set<AbortController>>();

/** One exchange's cancellation: aborted by the caller's signal, by the SDK, or by `closeSession`. */
export type ExchangeCall = {
  signal: AbortSignal;
  /** Cancels the exchange's request (the consumer left a stream): the host stops generating. */
  cancel: (reason: unknown) => void;
  /** The exchange is over; `closeSession` no longer needs to cancel it. */
  end: () => void;
};

/**
 * Registers an exchange of the session, so that {@link cancelInFlight} can stop it: a session
 * being closed must not wait for an answer that may never end.
 */
export function beginExchange(session: Session, callerSignal: AbortSignal | undefined): ExchangeCall {
  const controller = new AbortController();
  let calls = inFlight.get(session);
  if (!calls) inFlight.set(session, (calls = new Set()));
  calls.add(controller);
  const unfollow = followSignal(callerSignal, controller);
  return {
    signal: controller.signal,
    cancel: (reason) => controller.abort(reason),
    end: () => {
      unfollow();
      calls.delete(controller);
    },
  };
}

/** Cancels every exchange of the session still in flight (`closeSession` does, first thing). */
export function cancelInFlight(session: Session): void {
  for (const controller of inFlight.get(session) ?? []) controller.abort(new SessionClosingError({ jobId: session.jobId }));
}
