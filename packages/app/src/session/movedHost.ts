import { followHostUrl, getHostPolicy, HostNotRegisteredError, HostUnreachableError, type Session } from "@session-jobs/sdk";
import type { Address, Client } from "viem";
import { findCause } from "../errors.ts";

// A host that moves (a new port, a load balancer in front) re-registers its URL on chain; a session
// opened before still holds the old one. When that one cannot be reached, the page reads the
// registration of the session's own host (`followHostUrl`: only http(s) URLs are followed) and
// points the session at it, as the CLI does (packages/cli/src/movedHost.ts).

/** The session now reaches its host at `url`; it was at `previousUrl`. */
export type HostMove = { previousUrl: string; url: string };

/**
 * Whether a failure to reach the host could be a host gone from its address: no answer came, and
 * not because the host was too slow (a timeout names `ETIMEDOUT`). A browser's `fetch` names no
 * code for a refused connection or an unknown name (both read "Failed to fetch"), so no code counts;
 * a request that reached the host after all is recovered by a sync before anything is sent again.
 */
export function mayHaveMoved(error: unknown): boolean {
  const unreachable = findCause(error, HostUnreachableError);
  return unreachable !== undefined && (unreachable.neverConnected || unreachable.code === undefined);
}

/** The host does not answer and its registration gives no other address to try; the message says why, in one sentence. */
export class HostNotFollowedError extends Error {
  override name = "HostNotFollowedError";
}

/**
 * Points `session` at the URL its host registered on chain, when that is another http(s) URL, and
 * returns the move; else throws {@link HostNotFollowedError}, which says why (no longer registered,
 * the same address, or not an http(s) URL: what the host wrote there is never shown or followed).
 */
export async function followMovedHost(client: Client, nodeRegistry: Address, session: Session): Promise<HostMove> {
  const stayed = (why: string) => new HostNotFollowedError(`The host does not answer at ${session.hostUrl}${why}`);
  let registration;
  try {
    registration = await followHostUrl(client, { session, nodeRegistry });
  } catch (error) {
    if (findCause(error, HostNotRegisteredError)) throw stayed(" and is no longer registered; close the session to settle without it.");
    throw error;
  }
  if (registration.followed) return { previousUrl: registration.previousUrl, url: session.hostUrl };
  if (sameUrl(registration.registeredUrl, session.hostUrl))
    throw stayed(", the address it registered on chain: it is down. Try again later, or close the session to settle without the host.");
  throw stayed(
    ", and the address it registered on chain is not an http(s) URL, so this page does not follow it; close the session to settle without the host.",
  );
}

/**
 * Before a close, which settles without the host when it cannot reach it: if the host registered
 * another http(s) URL and the saved one does not answer, the session follows it, so that the host
 * still proves the newest receipt and is paid for it. A saved URL that answers anything is kept.
 * Never stops the close: any failure here leaves the session as it was.
 */
export async function followMovedHostBeforeClose(client: Client, nodeRegistry: Address, session: Session): Promise<HostMove | undefined> {
  const moved = { ...session };
  const registration = await followHostUrl(client, { session: moved, nodeRegistry }).catch(() => undefined);
  if (!registration?.followed) return undefined;
  try {
    await getHostPolicy({ hostUrl: session.hostUrl, timeoutMs: 10_000 });
    return undefined;
  } catch (error) {
    if (!mayHaveMoved(error)) return undefined;
    session.hostUrl = moved.hostUrl;
    return { previousUrl: registration.previousUrl, url: session.hostUrl };
  }
}

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}
