import type { Address, Client } from "viem";
import type { ContractCallError, HostNotRegisteredError } from "../errors/contract.ts";
import { hostUrlProblem } from "../session/hostUrl.ts";
import { getHostInfo } from "./getHostInfo.ts";
import type { Session } from "../session/types.ts";

export type FollowHostUrlParameters = {
  session: Session;
  /** The `NodeRegistryWithModels` contract the session's host registered in. */
  nodeRegistry: Address;
};

export type FollowHostUrlReturnType = {
  /** Whether `session.hostUrl` was changed to the host's registered URL. */
  followed: boolean;
  /** The URL the session had before the call. */
  previousUrl: string;
  /** What the host's registration says now (`apiUrl`), followed or not. */
  registeredUrl: string;
};

export type FollowHostUrlErrorType = HostNotRegisteredError | ContractCallError;

/**
 * Points a session at the API URL its host has registered on chain now, when that differs from
 * the one it was opened with: a host that moved (a load balancer, a new port) re-registers with
 * `updateApiUrl`, and sessions already open keep working once the caller follows it. Only the
 * registration of `session.host` itself is read, so a session never follows another address's
 * URL; a registered URL that is not http(s) is not followed. Call it when the saved URL cannot be
 * reached (`HostUnreachableError.neverConnected`), then persist the session
 * (`serializeSession`) and send the request again.
 *
 * @example
 * try {
 *   await syncSession(session);
 * } catch (error) {
 *   if (!(error instanceof HostUnreachableError && error.neverConnected)) throw error;
 *   if (!(await followHostUrl(publicClient, { session, nodeRegistry })).followed) throw error;
 *   await syncSession(session);
 * }
 */
export async function followHostUrl(client: Client, parameters: FollowHostUrlParameters): Promise<FollowHostUrlReturnType> {
  const { session, nodeRegistry } = parameters;
  const { apiUrl: registeredUrl } = await getHostInfo(client, { nodeRegistry, host: session.host });
  const previousUrl = session.hostUrl;
  const followed = hostUrlProblem(registeredUrl) === undefined && withoutTrailingSlash(registeredUrl) !== withoutTrailingSlash(previousUrl);
  if (followed) session.hostUrl = registeredUrl;
  return { followed, previousUrl, registeredUrl };
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
