import type { Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { signDigestNatively } from "#digestSigner";
import { SessionDisputedError } from "../errors/session.ts";
import { checkpointDigest, type Checkpoint, sessionRequestDigest, sessionRequestHeaders, type SignedEndpoint } from "@session-jobs/protocol";
import { fetchHost, type HostBody, type HostRequestOptions } from "./hostFetch.ts";
import { readJson } from "./readBody.ts";
import type { Session } from "./types.ts";

export type { HostRequestOptions } from "./hostFetch.ts";

const accounts = new WeakMap<Session, PrivateKeyAccount>();
/**
 * The session key as a viem account (its address, and its signatures where no native signer
 * loaded). Made when first needed: deriving the address is an elliptic-curve multiplication in
 * JavaScript (a millisecond or more), which a session signing natively never needs before a sync.
 */
export function sessionAccount(session: Session): PrivateKeyAccount {
  let account = accounts.get(session);
  if (!account) accounts.set(session, (account = privateKeyToAccount(session.sessionKey)));
  return account;
}

/**
 * Signs an EIP-712 digest with the session key. Where a native signer loaded (Node,
 * `#digestSigner`) the signature is returned at once, the same as viem's for a fraction of the
 * CPU, so a request with nothing else to wait for is sent in the same turn as it is prepared;
 * elsewhere viem's account signs (a promise).
 */
export function signSessionDigest(session: Session, digest: Hex): Hex | Promise<Hex> {
  return signDigestNatively ? signDigestNatively(digest, session.sessionKey) : sessionAccount(session).sign({ hash: digest });
}

/** Signs a cumulative receipt with the session key (see {@link signSessionDigest}). */
export function signReceipt(session: Session, checkpoint: Checkpoint): Hex | Promise<Hex> {
  return signSessionDigest(session, checkpointDigest(sessionDomain(session), checkpoint));
}

const locks = new WeakMap<Session, Promise<void>>();

/** Queues a holder of the session's lock: `previous` settles when the holders before it released (undefined: none). */
function queueForLock(session: Session): { previous: Promise<void> | undefined; release: () => void } {
  const previous = locks.get(session);
  let release!: () => void;
  const current = new Promise<void>((resolve) => (release = resolve));
  const tail = previous ? previous.then(() => current) : current;
  locks.set(session, tail);
  const releaseLock = () => {
    release();
    if (locks.get(session) === tail) locks.delete(session);
  };
  return { previous, release: releaseLock };
}

/**
 * Serialises exchanges of one session: sequence numbers, the transcript hash and cumulative
 * receipts all assume the host sees one exchange after another. Gives the release function at
 * once when no one holds the lock (so a request with nothing to wait for goes out in the turn
 * that prepared it, not after every other session's turn), else a promise of it.
 */
export function acquireSessionLock(session: Session): (() => void) | Promise<() => void> {
  const { previous, release } = queueForLock(session);
  return previous ? previous.then(() => release) : release;
}

/**
 * {@link acquireSessionLock}, giving up the wait when `until` aborts (`acquired: false`): the
 * caller then goes on without the lock (only `closeSession` does, after cancelling what is in
 * flight), and later callers still wait for both the holder and this caller's release.
 */
export async function acquireSessionLockUntil(session: Session, until: AbortSignal | undefined): Promise<{ release: () => void; acquired: boolean }> {
  const { previous = Promise.resolve(), release } = queueForLock(session);
  if (!until) {
    await previous;
    return { release, acquired: true };
  }
  let onAbort!: () => void;
  const gaveUp = new Promise<false>((resolve) => (onAbort = () => resolve(false)));
  if (until.aborted) onAbort();
  else until.addEventListener("abort", onAbort, { once: true });
  const acquired = await Promise.race([previous.then(() => true as const), gaveUp]);
  until.removeEventListener("abort", onAbort);
  return { release, acquired };
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
 * transcript hash the request builds on, and the session key's signature over all of them. At
 * once where the signature is (see {@link signSessionDigest}).
 */
export function signRequestHeaders(
  session: Session,
  endpoint: SignedEndpoint,
  body: Uint8Array<ArrayBuffer>,
): Record<string, string> | Promise<Record<string, string>> {
  session.sequence += 1n;
  const request = { jobId: session.jobId, sequence: session.sequence, transcriptHash: session.transcriptHash, endpoint, body };
  const signature = signSessionDigest(session, sessionRequestDigest(sessionDomain(session), request));
  return typeof signature === "string" ? sessionRequestHeaders(request, signature) : signature.then((signed) => sessionRequestHeaders(request, signed));
}

type PostParameters = HostRequestOptions & { body: Uint8Array<ArrayBuffer>; accept?: string; headers?: Record<string, string> | undefined };

/**
 * POSTs a JSON body to one of the host's signed endpoints, with the session headers; a refusal
 * becomes the typed error for its code. `url` defaults to the endpoint under the session's host URL.
 * The request is handed to the transport before this returns wherever the signature is at once.
 */
export function postSigned(session: Session, parameters: PostParameters & { endpoint: SignedEndpoint; url?: string | undefined }): Promise<HostBody> {
  const send = (signed: Record<string, string>) =>
    post(parameters.url ?? hostEndpoint(session, parameters.endpoint), { ...parameters, headers: { ...parameters.headers, ...signed } });
  let signed: ReturnType<typeof signRequestHeaders>;
  try {
    signed = signRequestHeaders(session, parameters.endpoint, parameters.body);
  } catch (error) {
    // A signer that refuses (a malformed key) fails the promise, as an async signer would, never the call.
    return Promise.reject(error);
  }
  return signed instanceof Promise ? signed.then(send) : send(signed);
}

/** POSTs a JSON body; a refusal becomes the typed error for its code, no answer `HostUnreachableError`. */
export function post(url: string, parameters: PostParameters): Promise<HostBody> {
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

/** Records why the client refused to go on, and hands the error back for throwing. */
export function dispute<T extends Error>(session: Session, error: T): T {
  session.dispute = "shortMessage" in error && typeof error.shortMessage === "string" ? error.shortMessage : error.message;
  return error;
}
