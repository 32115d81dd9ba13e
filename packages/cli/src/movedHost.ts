import { followHostUrl, getHostPolicy, HostNotRegisteredError, HostUnreachableError, type FollowHostUrlReturnType, type Session } from "@session-jobs/sdk";
import type { PublicClient } from "viem";
import type { SessionJobsDeployment } from "@session-jobs/contracts/deploy";
import type { OptionValues } from "./command.ts";
import type { Common } from "./common.ts";
import { connectToRpc, type DeploymentConnection } from "./connection.ts";
import { CliError } from "./errors.ts";
import { saveSession } from "./sessionStore.ts";

// A host that moves (a load balancer, a new port) re-registers its URL on chain (`host register`,
// `updateApiUrl`); a saved session still holds the old one. When that one cannot be reached at
// all, the client follows the host's registration (its own address's only) and saves the new URL.

/** The host moved: the session now points at its registered URL, saved, and the user is told in one line. */
function announceMove(common: Common, values: OptionValues, session: Session, previousUrl: string, why: string): void {
  saveSession(values, session);
  common.logger.warn(`host ${session.host} did not answer at ${previousUrl} (${why}); following its registered URL ${session.hostUrl} (saved)`);
}

/** `followHostUrl`, with a host no longer registered (`unregisterNode`) as `undefined`. */
async function followRegistration(
  publicClient: PublicClient,
  deployment: SessionJobsDeployment,
  session: Session,
): Promise<FollowHostUrlReturnType | undefined> {
  try {
    return await followHostUrl(publicClient, { session, nodeRegistry: deployment.nodeRegistry });
  } catch (error) {
    if (error instanceof HostNotRegisteredError) return undefined;
    throw error;
  }
}

/** Why a host that was never reached was not followed, as a hint. */
function stayedHint(session: Session, registeredUrl: string | undefined): string {
  const closing = `session-jobs client close --job ${session.jobId} settles without it`;
  if (registeredUrl === undefined) return `the host is no longer registered; ${closing}`;
  if (registeredUrl.replace(/\/+$/, "") === session.hostUrl.replace(/\/+$/, ""))
    return `the host's registered URL is this one: it is down; try again later, or ${closing}`;
  // Quoted and cut: the host wrote it, and it may hold line breaks or be long.
  return `the host's registered URL (${JSON.stringify(registeredUrl.slice(0, 200))}) is not an http(s) URL, so it was not followed`;
}

/**
 * Runs `task` (requests to the session's host); if the saved host URL could not be reached at all,
 * reads the host's registered URL from the chain (`rpcUrl`), switches to it when it differs and
 * runs `task` once more. Nothing reached a host the first time, so nothing is sent twice.
 */
export async function followingMovedHost<T>(
  common: Common,
  values: OptionValues,
  target: { session: Session; deployment: SessionJobsDeployment; rpcUrl: string | undefined },
  task: () => Promise<T>,
): Promise<T> {
  const { session, deployment, rpcUrl } = target;
  try {
    return await task();
  } catch (error) {
    if (!(error instanceof HostUnreachableError && error.neverConnected)) throw error;
    const previousUrl = session.hostUrl;
    const notAnswered = `the host did not answer at ${previousUrl} (${error.code})`;
    if (rpcUrl === undefined)
      throw new CliError(notAnswered, "if it moved, give --rpc-url (or SESSION_JOBS_RPC_URL) so that the client can follow its registered URL");
    const connection = await connectToRpc(common, rpcUrl);
    if (connection.chainId !== deployment.chainId)
      throw new CliError(`the deployment is for chain ${deployment.chainId}, but ${connection.rpcUrl} serves chain ${connection.chainId}`);
    const registration = await followRegistration(connection.publicClient, deployment, session);
    if (!registration?.followed) throw new CliError(notAnswered, stayedHint(session, registration?.registeredUrl));
    announceMove(common, values, session, previousUrl, error.code ?? "unreachable");
    return task();
  }
}

/**
 * Before a close, which settles without the host when it cannot reach it: if the host registered
 * another URL since and the saved one cannot be reached at all, switch to the registered one, so
 * that the host still proves the newest receipt and is paid for it. Never stops the close.
 */
export async function followMovedHostBeforeClose(common: Common, values: OptionValues, connection: DeploymentConnection, session: Session): Promise<void> {
  const previousUrl = session.hostUrl;
  const moved = { ...session };
  const registration = await followRegistration(connection.publicClient, connection.deployment, moved).catch(() => undefined);
  if (!registration?.followed) return;
  try {
    await getHostPolicy({ hostUrl: previousUrl, signal: common.signal, timeoutMs: 10_000 });
  } catch (error) {
    if (!(error instanceof HostUnreachableError && error.neverConnected)) return;
    session.hostUrl = moved.hostUrl;
    announceMove(common, values, session, previousUrl, error.code ?? "unreachable");
  }
}
