// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IJobMarketplaceWithModels
/// @notice Escrow for continuous LLM inference sessions. A depositor opens a session with a host at a
///         price per token; the host proves work with cumulative EIP-712 `Checkpoint` receipts signed by
///         the session signer; any ending pays `provenTokens × pricePerToken` (10% treasury, the rest to
///         the host through HostEarnings) and refunds the remainder of the deposit.
/// @dev Seed revert strings are public interface: "Price below host minimum", "Host not registered",
///      "Insufficient deposit", "Only host can submit proof", "Exceeds deposit". Everything else
///      reverts with a custom error carrying the offending values.
interface IJobMarketplaceWithModels {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice Session lifecycle. Status only moves forward: None → Active → one final state.
    enum SessionStatus {
        None, // no such session
        Active,
        Completed, // completeSessionJob / submitProofAndComplete
        TimedOut, // triggerSessionTimeout
        Abandoned // claimAbandonedSession
    }

    /// @notice Parameters of the extended `createSession`.
    struct SessionParams {
        address host; // assigned host; the only one allowed to submit proofs
        address token; // payment asset: address(0) = ETH, else an accepted ERC-20
        uint256 deposit; // escrowed amount (must equal msg.value for ETH)
        uint256 pricePerToken; // asset base units per token, >= the host's minimum for the asset
        uint256 maxDuration; // seconds after creation when anyone may trigger the timeout
        uint256 proofInterval; // tokens between checkpoints, 100..the host's largest (getNodeTerms)
        bytes32 modelId; // 0 = any model the host serves
        address signer; // session key that signs receipts; 0 = msg.sender
    }

    /// @notice A session as the seed's `sessionJobs(jobId)` returns it: the stored fields (packed in
    ///         storage, see JobMarketplaceWithModels) widened to uint256, so that ethers v5 decodes every
    ///         amount and count to a BigNumber. Use `getSession` for a decoded view (token address,
    ///         resolved signer).
    struct SessionJob {
        address host;
        uint256 provenTokens; // cumulative proven tokens; only grows
        uint256 lastActivity; // creation or latest proof, seconds
        SessionStatus status;
        address depositor;
        uint256 maxTokens; // min(depositAmount / pricePerToken, type(uint48).max)
        uint256 maxDuration; // seconds
        uint256 assetId; // 0 = ETH, else index into assetTokens
        uint256 flags; // bit 0: sessionSigner is set; bit 1: the model has a verifier plug-in
        uint256 depositAmount;
        uint256 pricePerToken;
        uint256 createdAt; // seconds
        uint256 checkpointInterval; // tokens between proofs
        address sessionSigner; // zero unless a session key was named
        bytes32 modelId; // stored only when the model has a verifier plug-in (else in SessionJobCreated)
    }

    /// @notice A session, decoded (`getSession`).
    struct SessionInfo {
        address depositor;
        address host;
        address token; // address(0) = ETH
        address signer; // resolved: the depositor when no session key was named
        bytes32 modelId; // only when the model has a verifier plug-in; SessionJobCreated always has it
        uint256 depositAmount;
        uint256 pricePerToken;
        uint256 provenTokens;
        uint256 maxTokens;
        uint256 checkpointInterval;
        uint256 maxDuration;
        uint256 createdAt;
        uint256 lastActivity;
        SessionStatus status;
    }

    /// @notice Per-asset terms kept by the owner (`address(0)` = ETH).
    struct AssetConfig {
        // slot 0 (the only one): read once per session creation
        bool accepted;
        uint8 assetId; // stable once assigned; sessions refer to their asset by it
        uint96 minDeposit;
        uint72 minPricePerToken;
        uint72 maxPricePerToken;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice The session does not exist or is no longer active.
    error SessionNotActive(uint256 jobId, SessionStatus status);
    /// @notice The caller may not end this session this way.
    error NotAuthorized(uint256 jobId, address caller);
    /// @notice The payment asset is not accepted.
    error TokenNotAccepted(address token);
    /// @notice The price is outside the asset's bounds.
    error PriceOutOfRange(uint256 price, uint256 min, uint256 max);
    /// @notice The checkpoint interval is outside MIN_PROOF_INTERVAL..MAX_PROOF_INTERVAL.
    error InvalidProofInterval(uint256 interval, uint256 min, uint256 max);
    /// @notice The duration is outside MIN_SESSION_DURATION..MAX_SESSION_DURATION.
    error InvalidDuration(uint256 duration, uint256 min, uint256 max);
    /// @notice The deposit does not fit the packed storage (uint96).
    error DepositTooLarge(uint256 deposit);
    /// @notice ETH sent does not match the deposit (or ETH sent with an ERC-20 session).
    error ValueMismatch(uint256 sent, uint256 expected);
    /// @notice The token moved less than the deposit into escrow (fee-on-transfer and similar).
    error DepositNotReceived(uint256 expected, uint256 received);
    /// @notice The host does not serve the named model, or the model is not approved.
    error ModelNotServed(address host, bytes32 modelId);
    /// @notice The checkpoint interval is larger than the host accepts (`getNodeTerms`).
    error CheckpointIntervalAboveHostMax(uint256 interval, uint256 hostMax);
    /// @notice The deposit is below the host's minimum deposit for the asset (`getNodeTerms`).
    error DepositBelowHostMinimum(uint256 deposit, uint256 hostMinimum);
    /// @notice The session signer would be the host itself (it would sign its own pay).
    error SignerIsHost(address signer);
    /// @notice The permit failed and the allowance does not cover the deposit.
    error PermitFailed(address token, uint256 allowance, uint256 deposit);
    /// @notice A proof with zero tokens.
    error ZeroTokens(uint256 jobId);
    /// @notice Proof bytes too short to hold a transcript hash and a signature.
    error InvalidProofLength(uint256 length);
    /// @notice The receipt is not signed by the session signer (or the model verifier refused it).
    error InvalidProof(uint256 jobId, address signer);
    /// @notice Batch arrays of different lengths.
    error LengthMismatch();
    /// @notice `triggerSessionTimeout` before `createdAt + maxDuration`.
    error SessionNotExpired(uint256 jobId, uint256 expiresAt);
    /// @notice `claimAbandonedSession` before `lastActivity + ABANDONMENT_TIMEOUT`.
    error SessionNotAbandoned(uint256 jobId, uint256 claimableAt);
    /// @notice Nothing to withdraw.
    error NothingToWithdraw(address token);
    /// @notice Sending ETH failed.
    error EthTransferFailed(address to, uint256 amount);
    /// @notice The caller is not the treasury.
    error OnlyTreasury(address caller);
    /// @notice A zero address where an address is required.
    error ZeroAddress();
    /// @notice Asset bounds that are inconsistent or out of the packed range.
    error InvalidAssetConfig();
    /// @notice No room for another ERC-20 (asset ids are a uint8).
    error TooManyAssets();
    /// @notice No room for another depositor id (ids of depositors who name a session key are a uint32).
    error TooManyDepositors();

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A session opened.
    event SessionJobCreated(
        uint256 indexed jobId,
        address indexed depositor,
        address indexed host,
        address token,
        uint256 deposit,
        uint256 pricePerToken,
        uint256 maxDuration,
        uint256 proofInterval,
        bytes32 modelId,
        address signer
    );

    /// @notice A checkpoint was proven. `tokens` is the batch size; `proofHash` the EIP-712 digest
    ///         of the receipt. `verified` is always true: invalid proofs revert (or, in a batch, are
    ///         skipped with `ProofRejected`). The seed's aggregate of a session is
    ///         `keccak256(abi.encode(previous, proofHash))` folded over its ProofSubmitted events in
    ///         log order from `bytes32(0)`; it is not kept in storage (docs/design.md).
    event ProofSubmitted(uint256 indexed jobId, address indexed host, uint256 tokens, bytes32 proofHash, bool verified);

    /// @notice A session ended (any way) and was settled.
    event SessionCompleted(
        uint256 indexed jobId,
        address indexed completedBy,
        uint256 provenTokens,
        uint256 payment,
        uint256 treasuryFee,
        uint256 hostEarnings,
        uint256 refund
    );

    /// @notice A session ended by `triggerSessionTimeout` (followed by SessionCompleted).
    event SessionTimedOut(uint256 indexed jobId, address indexed triggeredBy);
    /// @notice A session ended by `claimAbandonedSession` (followed by SessionCompleted).
    event SessionAbandoned(uint256 indexed jobId, address indexed host);
    /// @notice A refund could not be pushed and waits for `withdrawRefund`.
    event RefundCredited(address indexed depositor, address indexed token, uint256 amount);
    /// @notice The host's share of an ERC-20 session could not be transferred to HostEarnings (the
    ///         token refused it, e.g. an issuer blocklist), so the settlement credited it to
    ///         `pendingRefunds[host][token]` instead; the host pulls it with `withdrawRefund` or
    ///         `withdrawRefundTo`. The depositor's refund and the treasury fee are unaffected.
    event HostShareCredited(uint256 indexed jobId, address indexed host, address indexed token, uint256 amount);
    /// @notice A `submitProofsBatch` entry was skipped because its session had already ended
    ///         (`status` is its final state); the other entries were recorded.
    event ProofSkipped(uint256 indexed jobId, SessionStatus status);
    /// @notice A `submitProofsBatch` entry was skipped because its receipt did not verify (e.g. an
    ///         ERC-1271 signer revoked it, or ran out of its gas cap); the other entries were recorded.
    event ProofRejected(uint256 indexed jobId, address indexed signer);
    /// @notice A pending refund was withdrawn.
    event RefundWithdrawn(address indexed depositor, address indexed token, address to, uint256 amount);
    /// @notice The treasury withdrew accumulated fees.
    event TreasuryFeesWithdrawn(address indexed treasury, address indexed token, uint256 amount);
    /// @notice The owner changed the treasury.
    event TreasuryUpdated(address indexed previousTreasury, address indexed newTreasury);
    /// @notice The owner accepted or re-priced an asset.
    event AssetConfigured(
        address indexed token, uint8 assetId, uint256 minDeposit, uint256 minPricePerToken, uint256 maxPricePerToken
    );
    /// @notice The owner stopped accepting an asset for new sessions (open ones settle normally).
    event AssetRemoved(address indexed token);

    /*//////////////////////////////////////////////////////////////
                           SESSION CREATION
    //////////////////////////////////////////////////////////////*/

    /// @notice Opens an ETH session (the seed's form): deposit = msg.value, signer = msg.sender, any model.
    /// @param host The assigned host.
    /// @param pricePerToken Wei per token, >= the host's native minimum.
    /// @param maxDuration Seconds after which anyone may trigger the timeout.
    /// @param proofInterval Tokens between checkpoints, 100..the host's largest accepted (1,000 unless it set one).
    /// @return jobId The new session's id.
    function createSessionJob(address host, uint256 pricePerToken, uint256 maxDuration, uint256 proofInterval)
        external
        payable
        returns (uint256 jobId);

    /// @notice Opens an ERC-20 session after `approve`: pulls `deposit`, signer = msg.sender, any model.
    /// @param host The assigned host.
    /// @param token An accepted ERC-20.
    /// @param deposit Amount pulled into escrow.
    /// @param pricePerToken Token base units per token, >= the host's stable minimum.
    /// @param maxDuration Seconds after which anyone may trigger the timeout.
    /// @param proofInterval Tokens between checkpoints, 100..the host's largest accepted (1,000 unless it set one).
    /// @return jobId The new session's id.
    function createSessionJobWithToken(
        address host,
        address token,
        uint256 deposit,
        uint256 pricePerToken,
        uint256 maxDuration,
        uint256 proofInterval
    ) external returns (uint256 jobId);

    /// @notice Opens a session with every option: ETH (send `deposit` as value) or an approved ERC-20,
    ///         a named model, and a session signer (an ephemeral key that signs receipts).
    /// @param params The session parameters.
    /// @return jobId The new session's id.
    function createSession(SessionParams calldata params) external payable returns (uint256 jobId);

    /// @notice `createSession` for an ERC-2612 token in one transaction: permit, then pull. A permit
    ///         that fails (e.g. front-run) is tolerated if the allowance already covers the deposit.
    /// @param params The session parameters (`token` must be an accepted ERC-20).
    /// @param permitDeadline The permit's deadline.
    /// @param v Permit signature v.
    /// @param r Permit signature r.
    /// @param s Permit signature s.
    /// @return jobId The new session's id.
    function createSessionWithPermit(
        SessionParams calldata params,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 jobId);

    /*//////////////////////////////////////////////////////////////
                                 PROOFS
    //////////////////////////////////////////////////////////////*/

    /// @notice Proves `tokensInBatch` more tokens (host only). `proof` is
    ///         `abi.encodePacked(bytes32 transcriptHash, bytes signature)`: the session signer's
    ///         EIP-712 signature of `Checkpoint(jobId, provenTokens + tokensInBatch, transcriptHash)`.
    ///         Reverts "Exceeds deposit" if the new total would cost more than the deposit.
    /// @param jobId The session.
    /// @param proof Transcript hash followed by the receipt signature.
    /// @param tokensInBatch Tokens added by this proof (> 0).
    /// @return verified Always true (invalid proofs revert).
    function submitProofOfWork(uint256 jobId, bytes calldata proof, uint256 tokensInBatch)
        external
        returns (bool verified);

    /// @notice `submitProofOfWork` for many sessions in one transaction. An entry whose session has
    ///         already ended (Completed, TimedOut, Abandoned — e.g. the depositor completed it while the
    ///         batch was pending) is skipped with `ProofSkipped`; an entry whose receipt does not verify
    ///         (a contract signer that changed its mind or burns its gas) is skipped with
    ///         `ProofRejected`. Any other failure (unknown session, caller not the host, zero tokens,
    ///         exceeding the deposit, malformed proof) reverts the whole batch, as `submitProofOfWork`
    ///         would. `submitProofOfWork` itself stays strict.
    /// @param jobIds The sessions.
    /// @param proofs One proof per session.
    /// @param tokensInBatch One token count per session.
    function submitProofsBatch(uint256[] calldata jobIds, bytes[] calldata proofs, uint256[] calldata tokensInBatch)
        external;

    /*//////////////////////////////////////////////////////////////
                               ENDINGS
    //////////////////////////////////////////////////////////////*/

    /// @notice Ends and settles a session (depositor or host, any time).
    /// @param jobId The session.
    function completeSessionJob(uint256 jobId) external;

    /// @notice Proves the final checkpoint and settles in one call (host only), so that closing
    ///         costs the user nothing.
    /// @param jobId The session.
    /// @param proof As in `submitProofOfWork`.
    /// @param tokensInBatch Tokens added by this proof (> 0).
    function submitProofAndComplete(uint256 jobId, bytes calldata proof, uint256 tokensInBatch) external;

    /// @notice Ends and settles a session once `maxDuration` seconds have passed since creation (anyone).
    /// @param jobId The session.
    function triggerSessionTimeout(uint256 jobId) external;

    /// @notice Ends and settles a session once ABANDONMENT_TIMEOUT has passed since the last activity
    ///         (host only).
    /// @param jobId The session.
    function claimAbandonedSession(uint256 jobId) external;

    /*//////////////////////////////////////////////////////////////
                          REFUNDS AND TREASURY
    //////////////////////////////////////////////////////////////*/

    /// @notice Withdraws the caller's refund that could not be pushed at settlement, to the caller.
    ///         A host whose share could not reach HostEarnings (`HostShareCredited`) withdraws it here too.
    /// @param token The asset (address(0) = ETH).
    function withdrawRefund(address token) external;

    /// @notice Withdraws the caller's pending refund to another address (for a depositor contract
    ///         that cannot receive ETH).
    /// @param token The asset (address(0) = ETH).
    /// @param to The recipient.
    function withdrawRefundTo(address token, address to) external;

    /// @notice Withdraws all accumulated fees of the listed assets to the treasury (treasury only).
    /// @param tokens The assets (address(0) = ETH); zero balances are skipped.
    function withdrawTreasuryFees(address[] calldata tokens) external;

    /*//////////////////////////////////////////////////////////////
                                 ADMIN
    //////////////////////////////////////////////////////////////*/

    /// @notice Accepts an asset or updates its terms (owner only). `token == address(0)` configures ETH.
    /// @param token The asset.
    /// @param minDeposit Smallest deposit (base units).
    /// @param minPricePerToken Lowest session price (base units per token), > 0.
    /// @param maxPricePerToken Highest session price, >= the lowest.
    function configureAsset(address token, uint256 minDeposit, uint256 minPricePerToken, uint256 maxPricePerToken)
        external;

    /// @notice Stops accepting an asset for new sessions (owner only); open sessions settle normally.
    /// @param token The asset.
    function removeAsset(address token) external;

    /// @notice Sets the treasury (owner only). Fees already accumulated go to the new treasury.
    /// @param treasury The new treasury.
    function setTreasury(address treasury) external;

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice A session as stored (packed; see SessionJob): the seed's `sessionJobs` mapping, exposed
    ///         as a function returning the struct (a 16-field public getter does not compile without
    ///         via-IR, and one tuple decodes to a named object in viem).
    /// @param jobId The session.
    /// @return The stored session (status None when it does not exist).
    function sessionJobs(uint256 jobId) external view returns (SessionJob memory);

    /// @notice A session, decoded.
    /// @param jobId The session.
    /// @return The session (status None when it does not exist).
    function getSession(uint256 jobId) external view returns (SessionInfo memory);

    /// @notice The EIP-712 digest the session signer signs for a checkpoint.
    /// @param jobId The session.
    /// @param cumulativeTokens The proven total after this checkpoint.
    /// @param transcriptHash The transcript hash.
    /// @return The digest (also the `proofHash` emitted in ProofSubmitted).
    function hashCheckpoint(uint256 jobId, uint256 cumulativeTokens, bytes32 transcriptHash)
        external
        view
        returns (bytes32);

    /// @notice The EIP-712 domain separator (name "SessionJobs", version "1", this chain, this contract).
    /// @return The separator.
    function DOMAIN_SEPARATOR() external view returns (bytes32);

    /// @notice `keccak256("Checkpoint(uint256 jobId,uint256 cumulativeTokens,bytes32 transcriptHash)")`.
    /// @return The type hash.
    function CHECKPOINT_TYPEHASH() external view returns (bytes32);

    /// @notice Inactivity after which the host may claim a session: 24 hours.
    /// @return Seconds.
    function ABANDONMENT_TIMEOUT() external view returns (uint256);

    /// @notice Treasury share of each payment in basis points: 1000 (10%).
    /// @return Basis points.
    function TREASURY_FEE_BPS() external view returns (uint256);

    /// @notice Smallest checkpoint interval: 100 tokens.
    /// @return Tokens.
    function MIN_PROOF_INTERVAL() external view returns (uint256);

    /// @notice Largest checkpoint interval: 1,000,000 tokens.
    /// @return Tokens.
    function MAX_PROOF_INTERVAL() external view returns (uint256);

    /// @notice Shortest session: 60 seconds.
    /// @return Seconds.
    function MIN_SESSION_DURATION() external view returns (uint256);

    /// @notice Longest session: 365 days.
    /// @return Seconds.
    function MAX_SESSION_DURATION() external view returns (uint256);

    /// @notice Id of the next session.
    /// @return The id.
    function nextJobId() external view returns (uint256);

    /// @notice Accumulated ETH fees not yet withdrawn by the treasury.
    /// @return Wei.
    function accumulatedTreasuryETH() external view returns (uint256);

    /// @notice Accumulated fees of an ERC-20 not yet withdrawn by the treasury.
    /// @param token The ERC-20.
    /// @return Base units.
    function accumulatedTreasuryTokens(address token) external view returns (uint256);

    /// @notice A refund that could not be pushed, waiting for `withdrawRefund`; for a host, also its
    ///         shares that HostEarnings could not receive (`HostShareCredited`).
    /// @param depositor The depositor (or host).
    /// @param token The asset (address(0) = ETH).
    /// @return The amount.
    function pendingRefunds(address depositor, address token) external view returns (uint256);

    /// @notice An asset's terms (`address(0)` = ETH).
    /// @param token The asset.
    /// @return The terms.
    function getAssetConfig(address token) external view returns (AssetConfig memory);

    /// @notice The ERC-20 with a given asset id (address(0) for id 0 = ETH).
    /// @param assetId The id.
    /// @return The token.
    function assetTokens(uint8 assetId) external view returns (address);

    /// @notice The ERC-20s accepted for new sessions now.
    /// @return The tokens.
    function getAcceptedTokens() external view returns (address[] memory);

    /// @notice The treasury.
    /// @return The address.
    function treasury() external view returns (address);

    /// @notice The NodeRegistryWithModels that prices and admits hosts.
    /// @return The address.
    function nodeRegistry() external view returns (address);

    /// @notice The HostEarnings that hosts' shares are credited to (deployed by this contract).
    /// @return The address.
    function hostEarnings() external view returns (address);

    /// @notice The ProofSystem consulted for ERC-1271 signers and model verifiers.
    /// @return The address.
    function proofSystem() external view returns (address);
}
