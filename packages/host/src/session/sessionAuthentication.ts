import { getAddress, type Address, type Hex } from "viem";
import { sessionClosingReason, sessionRequestDigest, type SessionDomainParameters } from "@session-jobs/protocol";
import type { ChainClock } from "../chain/chainClock.ts";
import type { OnChainSession, SessionCache } from "../chain/chainSession.ts";
import type { Common } from "../common.ts";
import { HostError } from "../errors.ts";
import type { SessionState, Store } from "../store/storeTypes.ts";
import type { Refuse } from "./refusal.ts";
import type { AuthenticatedRequest, SignedRequest } from "./sessionRequest.ts";
import { recoverSigner } from "./signerRecovery.ts";

export type CreateSessionAuthenticationParameters = {
  common: Common;
  store: Store;
  sessions: SessionCache;
  domain: SessionDomainParameters;
  host: Address;
  /** On-chain model ids served; a session naming another model is refused. */
  models: readonly Hex[];
  refuse: Refuse;
  /** What a session's maximum duration is judged by: the chain's time, as the contract's timeout is. */
  chainClock: Pick<ChainClock, "nowSeconds">;
};

const zeroModel: Hex = `0x${"00".repeat(32)}`;

/** When a client refused because its session is closing may ask again (s): a close settles within a few blocks or fails. */
const closingRetryAfterSeconds = 1;

/** Who may be served: a request signed by its session's signer, for a live session of this host and a model it serves. */
export function createSessionAuthentication(parameters: CreateSessionAuthenticationParameters) {
  const { common, store, sessions, domain, refuse, chainClock } = parameters;
  const models = new Set(parameters.models.map((model) => model.toLowerCase()));

  const readSession = async (jobId: bigint): Promise<OnChainSession> => {
    try {
      return await sessions.get(jobId);
    } catch (error) {
      common.logger.warn("session read failed", { jobId, error });
      throw new HostError("chain_unavailable", "cannot read the session from chain right now; retry later", { cause: error });
    }
  };

  /** Returns the session's row as it read it (none before the session's first exchange here). */
  const checkServable = async (jobId: bigint, session: OnChainSession): Promise<SessionState | undefined> => {
    if (session.status === "none") refuse("session_unknown", `session ${jobId} does not exist`);
    const state = await store.session(jobId);
    const closedHere = state?.closed === true;
    // A close under way in any process sharing the store (until it settles, fails, or its lease ends on the store's clock).
    const closing = state?.closing === true;
    if (session.status !== "active" || closedHere) refuse("session_not_active", `session ${jobId} is ${closedHere ? "closed" : session.status}`);
    if (closing) refuse("session_not_active", `session ${jobId} is closing`, { reason: sessionClosingReason, retryAfterSeconds: closingRetryAfterSeconds });
    if (session.host.toLowerCase() !== parameters.host.toLowerCase())
      refuse("session_wrong_host", `session ${jobId} is assigned to ${session.host}, not this host`);
    if (session.modelId !== zeroModel && !models.has(session.modelId.toLowerCase()))
      refuse("model_not_served", `session ${jobId} names model ${session.modelId}, which this host does not serve`);
    // From then on anyone may time the session out, and whatever is not yet proven goes unpaid.
    const expiresAt = session.createdAt + session.maxDuration;
    if (chainClock.nowSeconds() >= expiresAt) refuse("session_not_active", `session ${jobId} passed its maximum duration at chain time ${expiresAt}`);
    return state;
  };

  return {
    /** The session as the chain (through the cache) has it; a failed read is `chain_unavailable`. */
    readSession,
    /** Refuses a session that does not exist, has ended or is closing, belongs to another host, names another model or ran out of time. */
    checkServable,

    /** Checks the request's signature against the session signer and that the session may be served here. */
    async authenticate(request: SignedRequest): Promise<AuthenticatedRequest> {
      const session = await readSession(request.jobId);
      await checkServable(request.jobId, session);
      let signer: Address;
      try {
        signer = await recoverSigner(sessionRequestDigest(domain, request), request.signature);
      } catch {
        return refuse("session_bad_signature", "X-Session-Signature is not a valid signature");
      }
      if (signer !== session.signer.toLowerCase()) refuse("session_bad_signature", `request signed by ${getAddress(signer)}, not by the session signer`);
      return { ...request, session };
    },
  };
}

export type SessionAuthentication = ReturnType<typeof createSessionAuthentication>;
