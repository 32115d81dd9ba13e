import type { IncomingHttpHeaders } from "node:http";
import { isHex, parseSignature, type Address, type Hex } from "viem";
import {
  checkpointDigest,
  nextTranscriptHash,
  sessionHeaders,
  sessionRequestDigest,
  type Checkpoint,
  type SessionDomainParameters,
  type SessionUsage,
  type SignedEndpoint,
  type SyncResponse,
} from "@session-jobs/protocol";
import type { ByteBudget } from "../http/byteBudget.ts";
import type { OnChainSession, SessionCache } from "../chain/chainSession.ts";
import type { Common } from "../common.ts";
import { HostError } from "../errors.ts";
import type { ExposurePolicy } from "./exposure.ts";
import { createKeyedMutex } from "../mutex.ts";
import type { StoredExchange, Store } from "../store/storeTypes.ts";
import { recoverSigner } from "./signerRecovery.ts";

/** The session headers of a request (docs/design.md, "HTTP session protocol"). */
export type SignedRequest = { jobId: bigint; sequence: bigint; transcriptHash: Hex; endpoint: SignedEndpoint; signature: Hex; body: Uint8Array };

/** A request whose signature and session checked out. */
export type AuthenticatedRequest = SignedRequest & { session: OnChainSession };

/** What one served exchange consists of, as the host delivered it. */
export type ServedExchange = {
  requestBody: Uint8Array;
  responseText: string;
  promptTokens: number;
  completionTokens: number;
  /** The client went away before the response ended. */
  aborted: boolean;
};

/** Held while one exchange runs; the session serves nothing else meanwhile. */
export type ExchangeLease = {
  /** Aborts when the session ends on chain while the exchange runs: stop generating, bill nothing. */
  ended: AbortSignal;
  /** Records the exchange durably and resolves with the `session` object for the response. */
  complete(exchange: ServedExchange): Promise<SessionUsage>;
  release(): void;
};

/** A sync answer before encoding: its fields, then the exchanges the client has not signed for. */
export type SyncAnswer = { head: Omit<SyncResponse, "exchanges">; exchanges: StoredExchange[] };

/** `GET /v1/session/:jobId`. */
export type SessionView = {
  jobId: string;
  servedTokens: string;
  signedTokens: string;
  provenTokens: string;
  unsignedTokens: string;
  checkpointInterval: string;
  transcriptHash: Hex;
  lastSequence: string;
  closed: boolean;
  lastExchange: { sequence: string; promptTokens: number; completionTokens: number; cumulativeTokens: string; transcriptHash: Hex; aborted: boolean } | null;
};

export type CreateSessionProtocolParameters = {
  common: Common;
  store: Store;
  sessions: SessionCache;
  domain: SessionDomainParameters;
  host: Address;
  /** On-chain model ids served; a session naming another model is refused. */
  models: readonly Hex[];
  /** Bytes of requests and answers a session may have without a receipt before new work is refused. */
  maxUnsignedBytes: number;
  /** Bytes that sync answers being written may hold together. */
  syncBudget: ByteBudget;
  /** The host's own limit on unsigned tokens and the session terms it serves. */
  exposure: ExposurePolicy;
  /** Asks the chain whether a contract (ERC-1271) signer accepts a checkpoint signature. */
  isValidContractSignature?: (signer: Address, checkpoint: Checkpoint, signature: Hex) => Promise<boolean>;
  /** Whether an address holds code; asked once per session, so that only a contract signer is ever asked about ERC-1271. */
  isContract?: (address: Address) => Promise<boolean>;
  /** Called after a receipt is stored, so that proofs can be scheduled. */
  onReceiptStored?: (jobId: bigint) => void;
  now?: () => number;
};

const zeroModel: Hex = `0x${"00".repeat(32)}`;
const secp256k1HalfOrder = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** Reads the session headers of a request to `endpoint`; absent or malformed ones are a client error. */
export function parseSessionHeaders(headers: IncomingHttpHeaders, endpoint: SignedEndpoint, body: Uint8Array): SignedRequest {
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const jobId = header(sessionHeaders.jobId);
  const sequence = header(sessionHeaders.sequence);
  const signature = header(sessionHeaders.signature);
  const transcriptHash = header(sessionHeaders.transcript);
  if (jobId === undefined || !/^\d{1,78}$/.test(jobId)) throw new HostError("invalid_request", "X-Session-Job-Id must be a decimal job id");
  if (sequence === undefined || !/^\d{1,78}$/.test(sequence) || BigInt(sequence) === 0n)
    throw new HostError("invalid_request", "X-Session-Sequence must be a decimal number of at least 1");
  if (signature === undefined || !isHex(signature) || signature.length < 132)
    throw new HostError("session_bad_signature", "X-Session-Signature must hold the session signer's EIP-712 SessionRequest signature");
  if (transcriptHash === undefined || !isHex(transcriptHash) || transcriptHash.length !== 66)
    throw new HostError("invalid_request", "X-Session-Transcript must be the 32-byte transcript hash the request builds on");
  return { jobId: BigInt(jobId), sequence: BigInt(sequence), transcriptHash: transcriptHash.toLowerCase() as Hex, endpoint, signature, body };
}

/**
 * The session rules of the host: who may spend, how much, in which order, and which receipts
 * count. Chain reads go through the session cache; every decision that moves money is recorded
 * in the store before the caller answers.
 */
export function createSessionProtocol(parameters: CreateSessionProtocolParameters) {
  const { common, store, sessions, domain } = parameters;
  const now = parameters.now ?? Date.now;
  const models = new Set(parameters.models.map((model) => model.toLowerCase()));
  const mutex = createKeyedMutex<bigint>();
  /** A session's turn: first in this process (arrival order), then across processes sharing the store. */
  const locks = {
    async acquire(jobId: bigint): Promise<() => void> {
      const release = await mutex.acquire(jobId);
      try {
        const releaseShared = await store.locks.session(jobId);
        return () => {
          releaseShared();
          release();
        };
      } catch (error) {
        release();
        throw new HostError("storage_unavailable", `storage unavailable: cannot take session ${jobId}'s turn (${(error as Error).message}); retry later`, {
          cause: error,
        });
      }
    },
  };
  const closing = new Set<bigint>();
  /**
   * Whether each session's signer is a contract, learned once per session (the signer is fixed at
   * creation) and first when the session key signs a request: a receipt whose ECDSA check fails
   * then costs no RPC call unless the signer can answer ERC-1271.
   */
  const contractSigners = new Map<bigint, Promise<boolean>>();
  /** The running exchange of each session (at most one, under the session's lock), stopped when the session ends. */
  const running = new Map<bigint, AbortController>();
  const signerIsContract = (jobId: bigint, signer: Address): Promise<boolean> => {
    let known = contractSigners.get(jobId);
    if (!known) {
      const isContract = parameters.isContract;
      known = isContract ? isContract(signer) : Promise.resolve(false);
      contractSigners.set(jobId, known);
      // A failed read is not an answer: ask again next time.
      known.catch(() => contractSigners.delete(jobId));
    }
    return known;
  };

  /** Refuses a replayed sequence; with `consume`, takes the sequence for a request that cannot be refused any more. */
  const claimTurn = async (request: AuthenticatedRequest, options: { consume: boolean }) => {
    store.assertWritable();
    // A session is judged on its terms once, when first seen, before anything is generated for it.
    if (!(await store.session(request.jobId))) {
      const refusal = parameters.exposure.refusal(request.session);
      if (refusal) refuse("session_terms_refused", refusal);
    }
    const state = await store.ensureSession(request.jobId, Number(request.session.checkpointInterval));
    if (request.sequence <= state.lastSequence) refuse("session_replayed", `sequence ${request.sequence} is not above ${state.lastSequence}`);
    if (options.consume) await store.claimSequence(request.jobId, request.sequence);
    return state;
  };

  const refuse = (code: ConstructorParameters<typeof HostError>[0], message: string): never => {
    common.metrics.requestsRefused.inc({ code });
    throw new HostError(code, message);
  };

  const checkServable = async (jobId: bigint, session: OnChainSession) => {
    if (session.status === "none") refuse("session_unknown", `session ${jobId} does not exist`);
    const closedHere = (await store.session(jobId))?.closed === true;
    if (session.status !== "active" || closing.has(jobId) || closedHere)
      refuse("session_not_active", `session ${jobId} is ${closedHere ? "closed" : closing.has(jobId) ? "closing" : session.status}`);
    if (session.host.toLowerCase() !== parameters.host.toLowerCase())
      refuse("session_wrong_host", `session ${jobId} is assigned to ${session.host}, not this host`);
    if (session.modelId !== zeroModel && !models.has(session.modelId.toLowerCase()))
      refuse("model_not_served", `session ${jobId} names model ${session.modelId}, which this host does not serve`);
    if (BigInt(Math.floor(now() / 1000)) >= session.createdAt + session.maxDuration)
      refuse("session_not_active", `session ${jobId} passed its maximum duration`);
  };

  const readSession = async (jobId: bigint): Promise<OnChainSession> => {
    try {
      return await sessions.get(jobId);
    } catch (error) {
      common.logger.warn("session read failed", { jobId, error });
      throw new HostError("chain_unavailable", "cannot read the session from chain right now; retry later", { cause: error });
    }
  };

  const protocol = {
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
      if (signer.toLowerCase() !== session.signer.toLowerCase()) refuse("session_bad_signature", `request signed by ${signer}, not by the session signer`);
      signerIsContract(request.jobId, session.signer).catch(() => undefined);
      return { ...request, session };
    },

    /**
     * Takes the session's turn for one exchange: refuses a replayed sequence, a request built on
     * another transcript than the session's, a session whose unsigned tokens reached one
     * checkpoint interval, and work the deposit cannot pay for; then consumes the sequence. Hold
     * the lease until the response is written.
     */
    async beginExchange(request: AuthenticatedRequest, budget: { promptTokensEstimate: number; maxTokens: number }): Promise<ExchangeLease> {
      const release = await locks.acquire(request.jobId);
      try {
        // The session as authenticate() read it; a close that won the lock meanwhile shows here.
        const { session } = request;
        await checkServable(request.jobId, session);
        const state = await claimTurn(request, { consume: false });
        if (request.transcriptHash !== state.transcriptHash.toLowerCase())
          refuse(
            "session_out_of_sync",
            `the request builds on transcript ${request.transcriptHash}, but the session's is ${state.transcriptHash} after ${state.servedTokens} tokens; POST /v1/session/sync to recover the exchanges you missed`,
          );
        const unsigned = state.servedTokens - Math.max(state.signedTokens, Number(session.provenTokens));
        const unsignedLimit = parameters.exposure.unsignedLimit(state.checkpointInterval);
        if (unsigned >= unsignedLimit)
          refuse(
            "session_receipt_overdue",
            `${unsigned} tokens served without a receipt (limit ${unsignedLimit}: checkpoint interval ${state.checkpointInterval}, host limit ${parameters.exposure.unsignedLimit(Number.MAX_SAFE_INTEGER)}); sign a receipt for ${state.servedTokens} tokens first`,
          );
        // The host keeps each unreceipted exchange's request and answer for a sync: bounded in bytes too.
        const unsignedBytes = await store.unsignedBytes(request.jobId);
        if (unsignedBytes >= parameters.maxUnsignedBytes)
          refuse(
            "session_receipt_overdue",
            `${unsignedBytes} bytes of requests and answers without a receipt (limit ${parameters.maxUnsignedBytes}); sign a receipt for ${state.servedTokens} tokens first`,
          );
        const worstCase = BigInt(state.servedTokens + budget.promptTokensEstimate + budget.maxTokens);
        if (worstCase * session.pricePerToken > session.depositAmount)
          refuse(
            "session_deposit_exhausted",
            `the deposit pays for ${session.maxTokens} tokens; ${state.servedTokens} served, this request may use up to ${budget.promptTokensEstimate + budget.maxTokens}`,
          );
        if (!(await store.claimSequence(request.jobId, request.sequence))) refuse("session_replayed", `sequence ${request.sequence} was already used`);
      } catch (error) {
        release();
        throw error;
      }
      const ended = new AbortController();
      running.set(request.jobId, ended);

      return {
        ended: ended.signal,
        async complete(exchange) {
          const state = (await store.session(request.jobId))!;
          const cumulativeTokens = state.servedTokens + exchange.promptTokens + exchange.completionTokens;
          const transcriptHash = nextTranscriptHash(state.transcriptHash, exchange);
          const record: StoredExchange = {
            jobId: request.jobId,
            sequence: request.sequence,
            promptTokens: exchange.promptTokens,
            completionTokens: exchange.completionTokens,
            cumulativeTokens,
            transcriptHash,
            aborted: exchange.aborted,
            previousTranscriptHash: state.transcriptHash,
            requestBody: exchange.requestBody,
            requestSignature: request.signature,
            responseText: exchange.responseText,
          };
          await store.appendExchange(record);
          common.metrics.tokensServed.inc({ kind: "prompt" }, exchange.promptTokens);
          common.metrics.tokensServed.inc({ kind: "completion" }, exchange.completionTokens);
          return {
            jobId: request.jobId.toString(),
            promptTokens: exchange.promptTokens,
            completionTokens: exchange.completionTokens,
            cumulativeTokens: cumulativeTokens.toString(),
            transcriptHash,
          };
        },
        release() {
          if (running.get(request.jobId) === ended) running.delete(request.jobId);
          release();
        },
      };
    },

    /**
     * The chain says a session ended (its settlement block was seen): nothing more is served for
     * it, and an exchange still running is stopped.
     */
    async sessionEnded(jobId: bigint, status: OnChainSession["status"]): Promise<void> {
      sessions.update(jobId, { status });
      running.get(jobId)?.abort(new HostError("session_not_active", `session ${jobId} was ${status} on chain while this answer ran`));
      await store.markClosed(jobId);
    },

    /** Takes the session's turn to close it; new work is refused from here on. */
    async beginClose(request: AuthenticatedRequest): Promise<{ release(): void; abandon(): void }> {
      const release = await locks.acquire(request.jobId);
      try {
        await claimTurn(request, { consume: true });
        closing.add(request.jobId);
      } catch (error) {
        release();
        throw error;
      }
      return {
        release,
        /** The close failed before anything settled: the session may be served again. */
        abandon: () => closing.delete(request.jobId),
      };
    },

    /** Verifies a signed receipt against the host's own record and stores it durably. */
    async acceptReceipt(input: unknown): Promise<{ stored: true; cumulativeTokens: string }> {
      const receipt = parseReceipt(input);
      store.assertWritable();
      const rejected = (code: ConstructorParameters<typeof HostError>[0], message: string): never => {
        common.metrics.receiptsRejected.inc({ code });
        throw new HostError(code, message);
      };
      const state = await store.session(receipt.jobId);
      if (!state) return rejected("session_unknown", `this host has served nothing for session ${receipt.jobId}`);
      if (receipt.cumulativeTokens > BigInt(state.servedTokens))
        rejected("session_receipt_mismatch", `receipt covers ${receipt.cumulativeTokens} tokens; ${state.servedTokens} were served`);
      const candidates = await store.exchangesAt(receipt.jobId, Number(receipt.cumulativeTokens));
      if (candidates.length === 0)
        return rejected("session_receipt_mismatch", `no exchange of session ${receipt.jobId} ends at ${receipt.cumulativeTokens} tokens`);
      const exchange = candidates.find((candidate) => candidate.transcriptHash === receipt.transcriptHash.toLowerCase());
      if (!exchange)
        return rejected(
          "session_receipt_mismatch",
          `transcript hash at ${receipt.cumulativeTokens} tokens is ${candidates.at(-1)!.transcriptHash}, not ${receipt.transcriptHash}`,
        );

      const session = await readSession(receipt.jobId);
      const checkpoint: Checkpoint = { jobId: receipt.jobId, cumulativeTokens: receipt.cumulativeTokens, transcriptHash: exchange.transcriptHash };
      if (!(await isSignedBy(receipt.jobId, session.signer, checkpoint, receipt.signature)))
        rejected("session_bad_signature", "receipt is not signed by the session signer");

      const isNew = await store.storeReceipt({
        jobId: receipt.jobId,
        cumulativeTokens: Number(receipt.cumulativeTokens),
        transcriptHash: exchange.transcriptHash,
        signature: receipt.signature,
      });
      if (isNew) {
        common.metrics.receiptsStored.inc();
        common.metrics.tokensSignedUnproven.set(await store.unprovenSignedTokens());
        parameters.onReceiptStored?.(receipt.jobId);
      }
      return { stored: true, cumulativeTokens: receipt.cumulativeTokens.toString() };
    },

    /**
     * `POST /v1/session/sync`: consumes the request's sequence and hands `send` the newest receipt
     * and every exchange after it, each with the client's signed request and the text delivered,
     * so that a client that missed the end of an exchange can check and sign for it. The session
     * stays locked and the answer's bytes stay counted in the sync budget until `send` is done:
     * one sync answer per session at a time, and at most the budget's bytes for all of them.
     */
    async sync(request: AuthenticatedRequest, send: (answer: SyncAnswer) => Promise<void>): Promise<void> {
      const release = await locks.acquire(request.jobId);
      try {
        await claimTurn(request, { consume: true });
        const releaseBytes = await parameters.syncBudget.take(await store.unsignedBytes(request.jobId));
        try {
          const state = (await store.session(request.jobId))!;
          const receipt = await store.newestReceipt(request.jobId);
          common.metrics.sessionSyncs.inc();
          await send({
            head: {
              jobId: request.jobId.toString(),
              lastSequence: state.lastSequence.toString(),
              servedTokens: String(state.servedTokens),
              transcriptHash: state.transcriptHash,
              receipt: receipt
                ? {
                    jobId: request.jobId.toString(),
                    cumulativeTokens: String(receipt.cumulativeTokens),
                    transcriptHash: receipt.transcriptHash,
                    signature: receipt.signature,
                  }
                : null,
            },
            exchanges: await store.exchangesAfter(request.jobId, receipt),
          });
        } finally {
          releaseBytes();
        }
      } finally {
        release();
      }
    },

    /** What the host knows about a session. */
    async describe(jobId: bigint): Promise<SessionView | undefined> {
      const state = await store.session(jobId);
      if (!state) return undefined;
      const last = await store.lastExchange(jobId);
      return {
        jobId: jobId.toString(),
        servedTokens: String(state.servedTokens),
        signedTokens: String(state.signedTokens),
        provenTokens: String(state.provenTokens),
        unsignedTokens: String(Math.max(0, state.servedTokens - state.signedTokens)),
        checkpointInterval: String(state.checkpointInterval),
        transcriptHash: state.transcriptHash,
        lastSequence: state.lastSequence.toString(),
        closed: state.closed,
        lastExchange: last
          ? {
              sequence: last.sequence.toString(),
              promptTokens: last.promptTokens,
              completionTokens: last.completionTokens,
              cumulativeTokens: String(last.cumulativeTokens),
              transcriptHash: last.transcriptHash,
              aborted: last.aborted,
            }
          : null,
      };
    },
  };

  async function isSignedBy(jobId: bigint, signer: Address, checkpoint: Checkpoint, signature: Hex): Promise<boolean> {
    if (signature.length === 132) {
      // The contract accepts only low-s ECDSA signatures; a high-s one would revert on chain.
      let s: bigint;
      try {
        s = BigInt(parseSignature(signature).s);
      } catch {
        return false;
      }
      if (s > secp256k1HalfOrder) return false;
      try {
        if ((await recoverSigner(checkpointDigest(domain, checkpoint), signature)).toLowerCase() === signer.toLowerCase()) return true;
      } catch {
        // Not an ECDSA signature: a contract signer may still accept it.
      }
    }
    if (!parameters.isValidContractSignature) return false;
    let isContract: boolean;
    try {
      isContract = await signerIsContract(jobId, signer);
    } catch (error) {
      throw new HostError("chain_unavailable", "cannot read the session signer from chain right now; retry later", { cause: error });
    }
    return isContract && parameters.isValidContractSignature(signer, checkpoint, signature);
  }

  return protocol;
}

export type SessionProtocol = ReturnType<typeof createSessionProtocol>;

function parseReceipt(input: unknown): { jobId: bigint; cumulativeTokens: bigint; transcriptHash: Hex; signature: Hex } {
  if (typeof input !== "object" || input === null) throw new HostError("invalid_request", "receipt must be a JSON object");
  const { jobId, cumulativeTokens, transcriptHash, signature } = input as Record<string, unknown>;
  const decimal = (value: unknown) =>
    (typeof value === "string" && /^\d{1,78}$/.test(value)) || (typeof value === "number" && Number.isSafeInteger(value) && value >= 0);
  if (!decimal(jobId)) throw new HostError("invalid_request", "jobId must be a decimal string");
  if (!decimal(cumulativeTokens) || BigInt(cumulativeTokens as string) === 0n)
    throw new HostError("invalid_request", "cumulativeTokens must be a positive decimal string");
  if (typeof transcriptHash !== "string" || !isHex(transcriptHash) || transcriptHash.length !== 66)
    throw new HostError("invalid_request", "transcriptHash must be 32 bytes of hex");
  if (typeof signature !== "string" || !isHex(signature) || signature.length < 4) throw new HostError("invalid_request", "signature must be hex");
  return { jobId: BigInt(jobId as string), cumulativeTokens: BigInt(cumulativeTokens as string), transcriptHash, signature };
}
