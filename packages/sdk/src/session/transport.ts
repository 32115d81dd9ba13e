import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { signDigestNatively } from "#digestSigner";
import { HostUnreachableError } from "../errors/host.ts";
import { SessionDisputedError } from "../errors/session.ts";
import { sessionEndpoints, type ReceiptSubmission, type SignedEndpoint, signSessionRequestHeaders } from "@session-jobs/protocol";
import { fetchHost, type HostBody, type HostRequestOptions } from "./hostFetch.ts";
import { readJson } from "./readBody.ts";
import type { Session } from "./types.ts";

export type { HostRequestOptions } from "./hostFetch.ts";

const accounts = new WeakMap<Session, PrivateKeyAccount>();
/**
 * The session key as a viem account. Where a native signer loaded (Node, `#digestSigner`) the
 * account signs digests with it: the same signatures as viem's, for a fraction of the CPU.
 */
export function sessionAccount(session: Session): PrivateKeyAccount {
  let account = accounts.get(session);
  if (!account) {
    const key = session.sessionKey;
    const viemAccount = privateKeyToAccount(key);
    const signNatively = signDigestNatively;
    account = signNatively ? { ...viemAccount, sign: ({ hash }) => Promise.resolve(signNatively(hash, key)) } : viemAccount;
    accounts.set(session, account);
  }
  return account;
}

const locks = new WeakMap<Session, Promise<void>>();
/**
 * Serialises exchanges of one session: sequence numbers, the transcript hash and cumulative
 * receipts all assume the host sees one exchange after another. Resolves with a release function.
 */
export async function acquireSessionLock(session: Session): Promise<() => void> {
  return (await acquireSessionLockUntil(session, undefined)).release;
}

/**
 * {@link acquireSessionLock}, giving up the wait when `until` aborts (`acquired: false`): the
 * caller then goes on without the lock (only `closeSession` does, after cancelling what is in
 * flight), and later callers still wait for both the holder and this caller's release.
 */
export async function acquireSessionLockUntil(session: Session, until: AbortSignal | undefined): Promise<{ release: () => void; acquired: boolean }> {
  const previous = locks.get(session) ?? Promise.resolve();
  let release!: () => void;
  const current = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => current);
  locks.set(session, tail);
  const releaseLock = () => {
    release();
    if (locks.get(session) === tail) locks.delete(session);
  };
  if (!until) {
    await previous;
    return { release: releaseLock, acquired: true };
  }
  let onAbort!: () => void;
  const gaveUp = new Promise<false>((resolve) => (onAbort = () => resolve(false)));
  if (until.aborted) onAbort();
  else until.addEventListener("abort", onAbort, { once: true });
  const acquired = await Promise.race([previous.then(() => true as const), gaveUp]);
  until.removeEventListener("abort", onAbort);
  return { release: releaseLock, acquired };
}

/** `hostUrl` + path, tolerating a trailing slash on the base URL. */
export function hostEndpoint(session: Pick<Session, "hostUrl">, path: string): string {
  return `${session.hostUrl.replace(/\/+$/, "")}${path}`;
}

/** The EIP-712 domain the session's signatures live in. */
export function sessionDomain(session: Pick<Session, "chainId" | "marketplace">) {
  return { chainId: session.chainId, marketplace: session.marketplace };
}

/**
 * Headers that authenticate one request body for an endpoint: job id, next sequence number, the
 * transcript hash the request builds on, and the session key's signature over all of them.
 */
export function signRequestHeaders(session: Session, endpoint: SignedEndpoint, body: Uint8Array<ArrayBuffer>): Promise<Record<string, string>> {
  session.sequence += 1n;
  const request = { jobId: session.jobId, sequence: session.sequence, transcriptHash: session.transcriptHash, endpoint, body };
  return signSessionRequestHeaders(sessionAccount(session), sessionDomain(session), request);
}

type PostParameters = HostRequestOptions & { body: Uint8Array<ArrayBuffer>; accept?: string; headers?: Record<string, string> | undefined };

/**
 * POSTs a JSON body to one of the host's signed endpoints, with the session headers; a refusal
 * becomes the typed error for its code. `url` defaults to the endpoint under the session's host URL.
 */
export async function postSigned(session: Session, parameters: PostParameters & { endpoint: SignedEndpoint; url?: string | undefined }): Promise<HostBody> {
  const signed = await signRequestHeaders(session, parameters.endpoint, parameters.body);
  return post(parameters.url ?? hostEndpoint(session, parameters.endpoint), { ...parameters, headers: { ...parameters.headers, ...signed } });
}

/** POSTs a JSON body; a refusal becomes the typed error for its code, no answer {@link HostUnreachableError}. */
function post(url: string, parameters: PostParameters): Promise<HostBody> {
  const headers = { ...parameters.headers, "content-type": "application/json", accept: parameters.accept ?? "application/json" };
  return fetchHost(url, { method: "POST", headers, body: parameters.body }, parameters);
}

/** GETs a JSON answer from the host; a refusal becomes the typed error for its code. */
export async function getJson(url: string, options: HostRequestOptions): Promise<unknown> {
  return readJson(await fetchHost(url, { headers: { accept: "application/json" } }, options));
}

/** Whether the client may be behind the host: an answer broke off, or the state was restored. */
export function needsSync(session: Session): boolean {
  return session.resync === true || session.restored === true;
}

/** Refuses to go on with a disputed session. */
export function assertUndisputed(session: Session): void {
  if (session.dispute !== undefined) throw new SessionDisputedError({ jobId: session.jobId, reason: session.dispute });
}

/**
 * Sends the newest receipt to the host if it has not acknowledged it yet. An unreachable host
 * leaves it pending (returns false); any refusal is thrown.
 */
export async function deliverReceipt(session: Session, options: HostRequestOptions & { headers?: Record<string, string> | undefined } = {}): Promise<boolean> {
  const receipt = session.receipt;
  if (!receipt || receipt.delivered) return true;
  const submission: ReceiptSubmission = {
    jobId: session.jobId.toString(),
    cumulativeTokens: receipt.cumulativeTokens.toString(),
    transcriptHash: receipt.transcriptHash,
    signature: receipt.signature,
  };
  try {
    // A receipt is authenticated by its own signature: no session headers, no sequence number spent.
    await post(hostEndpoint(session, sessionEndpoints.receipt), {
      signal: options.signal,
      fetch: options.fetch,
      timeoutMs: options.timeoutMs,
      headers: options.headers,
      body: new TextEncoder().encode(JSON.stringify(submission)),
    });
  } catch (error) {
    if (error instanceof HostUnreachableError) return false;
    throw error;
  }
  receipt.delivered = true;
  return true;
}

/** Records why the client refused to go on, and hands the error back for throwing. */
export function dispute<T extends Error>(session: Session, error: T): T {
  session.dispute = "shortMessage" in error && typeof error.shortMessage === "string" ? error.shortMessage : error.message;
  return error;
}
