import type { Address, Hex } from "viem";

/** What the node knows about one session, off chain. Token counts are cumulative. */
export type SessionState = {
  jobId: bigint;
  lastSequence: bigint;
  /** Tokens served (and billed) so far. */
  servedTokens: number;
  /** Transcript hash after the last exchange served. */
  transcriptHash: Hex;
  /** Tokens covered by the newest signed receipt. */
  signedTokens: number;
  /** Tokens proven on chain, as last confirmed. */
  provenTokens: number;
  checkpointInterval: number;
  lastActivityMs: number;
  closed: boolean;
  /**
   * A close begun by some process holds the session: its lease had not ended when the row was read,
   * judged on the store's clock (PostgreSQL: the database's, one clock for every process, whatever
   * the skew between their machines; SQLite: the process's). New work is refused by every process
   * while it holds, until the close settles (`closed`) or is abandoned.
   */
  closing: boolean;
};

export type Exchange = {
  jobId: bigint;
  sequence: bigint;
  promptTokens: number;
  completionTokens: number;
  cumulativeTokens: number;
  transcriptHash: Hex;
  aborted: boolean;
};

/**
 * An exchange with what the client needs to sign for it later (`POST /v1/session/sync`): its
 * signed request and the text delivered. Kept until a receipt covers the exchange and another
 * receipt follows (or the session settles): a client that signed for it and then lost its state gets it back.
 */
export type StoredExchange = Exchange & {
  previousTranscriptHash: Hex;
  requestBody: Uint8Array;
  requestSignature: Hex;
  responseText: string;
};

export type StoredReceipt = { jobId: bigint; cumulativeTokens: number; transcriptHash: Hex; signature: Hex; receivedMs: number };

/**
 * What a sync answer shows of a session: its head, its newest receipt and the exchanges whose requests
 * and answers are kept (after the receipt before the newest), with them.
 */
export type SyncSnapshot = { state: SessionState; receipt: StoredReceipt | undefined; exchanges: StoredExchange[] };

export type SubmissionKind = "checkpoint" | "batch" | "final" | "complete" | "claim";
export type SubmissionStatus = "signed" | "sent" | "confirmed" | "reverted" | "dropped";
export type SubmissionEntry = { jobId: bigint; cumulativeTokens: number; tokensInBatch: number };
export type Submission = {
  id: number;
  kind: SubmissionKind;
  status: SubmissionStatus;
  nonce: number;
  txHash: Hex;
  rawTx: Hex;
  entries: SubmissionEntry[];
  error: string | null;
};

/**
 * The chain, contract and host key a database belongs to; a mismatch refuses to open. `genesis` (the
 * hash of block 0) tells a development chain restarted with the same id and addresses from the old
 * one; the node always gives it, a database without one adopts the first given (absent only in tests
 * and when `migrate-store` copies a file from before it was recorded).
 */
export type StoreDeployment = { chainId: number; marketplace: Address; host: Address; genesis?: Hex };

/** A value now (SQLite answers synchronously) or later (PostgreSQL). Callers always `await`. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Gives back a lock taken from {@link StoreLocks}; `held()` says whether it is still held. A
 * PostgreSQL lock is not once the lock connection that took it is lost, even after a new one is
 * made: what it guards must not take its final step (record, send, clear) from then on.
 */
export type Release = (() => void) & { held(): boolean };

/**
 * Mutual exclusion between the host processes sharing one store. SQLite allows one process per
 * database (its host lock), so its locks are granted at once; PostgreSQL's are advisory locks held
 * by one dedicated connection per process, released by the server when that process dies.
 */
export type StoreLocks = {
  /** Whether other processes share this store (PostgreSQL): cached chain state such as a nonce must be re-read under {@link chainWriter}. */
  readonly shared: boolean;
  /** One exchange, sync or close per session at a time across processes (inside the in-process mutex). */
  session(jobId: bigint): Promise<Release>;
  /** The session's lock if no other process holds it now, else `undefined` (the caller does not wait). */
  trySession(jobId: bigint): Promise<Release | undefined>;
  /** One chain writer at a time across processes (every transaction the host key signs). */
  chainWriter(): Promise<Release>;
  /**
   * Runs `onLeader` each time this process becomes the one that submits proofs: at once for SQLite;
   * for PostgreSQL when the proof lock is free, now or when its holder stops or dies (tried again
   * until `signal` aborts). `lost` aborts when this process stops leading (its lock connection was
   * lost; it contends again once reconnected). Resolves after the first try: with `onLeader` when it won.
   */
  leadProofs(onLeader: (lost: AbortSignal) => Promise<void>, signal: AbortSignal): Promise<void>;
  /** Calls `listener` with each session whose receipt any process stored (PostgreSQL LISTEN/NOTIFY; none for SQLite, whose only process calls its submitter directly). */
  onReceiptStored(listener: (jobId: bigint) => void): void;
};

/**
 * The node's durable memory: sessions, exchanges (cumulative count → transcript hash), signed
 * receipts and proof transactions. Every write a client or the chain may later rely on is
 * committed before the caller answers anyone. Two implementations pass one contract suite
 * (store/storeContract.test.ts): SQLite (embedded, one process) and PostgreSQL (several processes).
 */
export type Store = {
  readonly kind: "sqlite" | "postgres";
  /** The session's state, if the node has seen it. */
  session(jobId: bigint): Awaitable<SessionState | undefined>;
  /** Creates the session's row on first contact; keeps the interval in step with the chain. */
  ensureSession(jobId: bigint, checkpointInterval: number): Awaitable<SessionState>;
  /** Takes a request sequence number if it is higher than every one before (replay protection). */
  claimSequence(jobId: bigint, sequence: bigint): Awaitable<boolean>;
  /** Appends a served exchange durably; the session's count and transcript hash move with it. */
  appendExchange(exchange: StoredExchange): Awaitable<void>;
  /** The exchanges after which the session stood at exactly `cumulativeTokens` (more than one only after a zero-token exchange). */
  exchangesAt(jobId: bigint, cumulativeTokens: number): Awaitable<Exchange[]>;
  lastExchange(jobId: bigint): Awaitable<Exchange | undefined>;
  /** {@link session} and {@link lastExchange} read as one snapshot: the exchange is the one that brought the session to that head. Undefined for a session the node has not seen. */
  sessionWithLastExchange(jobId: bigint): Awaitable<{ state: SessionState; lastExchange: Exchange | undefined } | undefined>;
  /**
   * Stores a verified receipt durably; `false` if the same count was stored before. Drops the requests
   * and answers the receipt before it covers (those the newest alone covers stay, for a sync).
   */
  storeReceipt(receipt: Omit<StoredReceipt, "receivedMs">): Awaitable<boolean>;
  /** The exchanges after the one ending at `after` (all when undefined), with their requests and answers, oldest first. */
  exchangesAfter(jobId: bigint, after: { cumulativeTokens: number; transcriptHash: Hex } | undefined): Awaitable<StoredExchange[]>;
  newestReceipt(jobId: bigint): Awaitable<StoredReceipt | undefined>;
  /**
   * {@link session}, {@link newestReceipt} and every exchange whose request and answer are kept
   * ({@link exchangesAfter} no position: from the receipt before the newest), read as one snapshot:
   * a receipt or exchange committed meanwhile, by any process, shows in all three or in none (else
   * the exchanges would not lead through the receipt to the head, which a client takes for a host
   * that lies). Undefined for a session the node has not seen.
   */
  syncSnapshot(jobId: bigint): Awaitable<SyncSnapshot | undefined>;
  /** Records what the chain says is proven (never moves backwards). */
  setProvenTokens(jobId: bigint, provenTokens: number): Awaitable<void>;
  /**
   * A close of the session began: every process refuses new work for it for `leaseMs` from now on
   * the store's clock (see {@link SessionState.closing}), a lease so that a closer that dies strands nothing.
   * `lease` names this close's mark (unique to it, chosen before the write, so known even when its commit goes unanswered).
   */
  markClosing(jobId: bigint, leaseMs: number, lease: string): Awaitable<void>;
  /**
   * The close holding `lease` failed before anything settled: the session may be served again. A
   * compare-and-set: a mark another close has set since (another process that took the close over) is kept.
   */
  clearClosing(jobId: bigint, lease: string): Awaitable<void>;
  /** Marks a session settled and prunes it to what a dispute or an audit needs (docs/design.md, "Storage"). */
  markClosed(jobId: bigint): Awaitable<void>;
  /**
   * The chain refuses a stored receipt of this session for good (chain/refusalVerdict.ts): closed as
   * {@link markClosed} closes it and, in the same transaction, marked as due a settlement for what is
   * proven, so that whichever process leads proofs settles it, even after the one that closed it stopped.
   */
  markRefused(jobId: bigint): Awaitable<void>;
  /** Sessions {@link markRefused} marked whose settlement has not been cleared. */
  settlementsDue(): Awaitable<bigint[]>;
  /** The session is settled, or ended on chain some other way: no settlement is due any more. */
  clearSettlementDue(jobId: bigint): Awaitable<void>;
  /** Bytes of requests and answers kept for exchanges no receipt covers yet. */
  unsignedBytes(jobId: bigint): Awaitable<number>;
  /** Bytes of requests and answers a sync answer shows: {@link unsignedBytes} and those the newest receipt alone covers. */
  syncBytes(jobId: bigint): Awaitable<number>;
  /** Open sessions holding signed receipts beyond what is proven. */
  sessionsWithUnprovenReceipts(): Awaitable<SessionState[]>;
  openSessions(): Awaitable<SessionState[]>;
  unprovenSignedTokens(): Awaitable<number>;
  /**
   * Records a signed transaction before it is broadcast, so a crash can never send it twice
   * unknowingly. The same bytes signed again after their record was dropped (an RPC refused them,
   * and the nonce, fees and call are unchanged: signing is deterministic) take that record back;
   * bytes recorded and not dropped are refused (`recordedAlready`).
   */
  recordSubmission(submission: { kind: SubmissionKind; nonce: number; txHash: Hex; rawTx: Hex; entries: SubmissionEntry[] }): Awaitable<number>;
  /** Moves a submission on; a confirmed one advances its sessions' proven counts (and closes them at settlement). */
  setSubmissionStatus(id: number, status: SubmissionStatus, error?: string): Awaitable<Submission>;
  submission(id: number): Awaitable<Submission | undefined>;
  pendingSubmissions(): Awaitable<Submission[]>;
  submissionsOfJob(jobId: bigint): Awaitable<Submission[]>;
  /**
   * Resolves once every write committed so far is durable (SQLite: after the WAL's next sync, at
   * once when nothing is unsynced; PostgreSQL: at once). Awaited before an answer that shows stored
   * state a client may sign over, since another request's commit can be visible before it is synced.
   */
  synced(): Awaitable<void>;
  /** Why new work must be refused (the file is gone, a write failed, the lock connection dropped), or undefined. */
  fault(): string | undefined;
  /** Throws `storage_unavailable` (503) while {@link fault} says why. */
  assertWritable(): void;
  readonly locks: StoreLocks;
  close(): Promise<void>;
};
