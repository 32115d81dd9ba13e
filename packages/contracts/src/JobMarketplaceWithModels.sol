// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {HostEarnings} from "./HostEarnings.sol";
import {IHostEarnings} from "./interfaces/IHostEarnings.sol";
import {IJobMarketplaceWithModels} from "./interfaces/IJobMarketplaceWithModels.sol";
import {INodeRegistryWithModels} from "./interfaces/INodeRegistryWithModels.sol";
import {IProofSystem} from "./interfaces/IProofSystem.sol";

/// @title JobMarketplaceWithModels
/// @notice Session escrow with cumulative signed receipts; see IJobMarketplaceWithModels.
/// @dev Gas design (docs/design.md, "Contracts"): a session is three storage slots written once, with
///      or without a session key (the key is stored in full, the depositor who named it as a 32-bit id);
///      a proof reads slots 0-1 and writes slot 0 (the seed's aggregate of proof hashes is folded from
///      the ProofSubmitted events, not stored); 65-byte ECDSA receipts are checked inline, anything
///      else (ERC-1271, model verifiers) in ProofSystem. Per-asset fee and earnings accumulators never
///      go back to zero (they hold amount + 1), so a settlement after a withdrawal costs what any other does.
///      Proof functions make only static calls, so they need no reentrancy guard; every function that
///      moves funds is `nonReentrant`.
contract JobMarketplaceWithModels is IJobMarketplaceWithModels, Ownable2Step, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IJobMarketplaceWithModels
    bytes32 public constant CHECKPOINT_TYPEHASH =
        keccak256("Checkpoint(uint256 jobId,uint256 cumulativeTokens,bytes32 transcriptHash)");
    /// @inheritdoc IJobMarketplaceWithModels
    uint256 public constant ABANDONMENT_TIMEOUT = 24 hours;
    /// @inheritdoc IJobMarketplaceWithModels
    uint256 public constant TREASURY_FEE_BPS = 1000;
    /// @inheritdoc IJobMarketplaceWithModels
    uint256 public constant MIN_PROOF_INTERVAL = 100;
    /// @inheritdoc IJobMarketplaceWithModels
    uint256 public constant MAX_PROOF_INTERVAL = 1_000_000;
    /// @inheritdoc IJobMarketplaceWithModels
    uint256 public constant MIN_SESSION_DURATION = 60;
    /// @inheritdoc IJobMarketplaceWithModels
    uint256 public constant MAX_SESSION_DURATION = 365 days;

    uint256 private constant BPS = 10_000;
    /// @dev Gas forwarded when pushing an ETH refund: enough for a smart wallet's receive hook, small
    ///      enough that a depositor contract cannot make the caller of a settlement burn much gas.
    ///      A push that fails for any reason is credited to `pendingRefunds` instead.
    uint256 private constant REFUND_PUSH_GAS = 50_000;
    /// @dev Gas forwarded to an ERC-20 `transfer` at settlement: a plain transfer to a fresh account
    ///      costs under 60,000; a token hook (ERC-777 style) of the recipient cannot make the caller
    ///      burn more, nor leave too little gas for the `pendingRefunds` fallback.
    uint256 private constant TOKEN_PUSH_GAS = 100_000;
    uint8 private constant FLAG_SESSION_SIGNER = 1;
    uint8 private constant FLAG_MODEL_VERIFIER = 2;
    uint256 private constant DURATION_BITS = 28;
    uint256 private constant DURATION_MASK = 0x0FFFFFFF; // DURATION_BITS ones

    /*//////////////////////////////////////////////////////////////
                               IMMUTABLES
    //////////////////////////////////////////////////////////////*/

    INodeRegistryWithModels private immutable _nodeRegistry;
    IHostEarnings private immutable _hostEarnings;
    IProofSystem private immutable _proofSystem;

    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @dev A session in storage. Every session writes slots 0-2 once at creation; a proof reads
    ///      slots 0-1 and writes slot 0. `sessionJobs` returns it widened (IJobMarketplaceWithModels.SessionJob).
    ///
    ///      slot 0  | status 8 | lastActivity 40 | provenTokens 48 | host 160 |
    ///      slot 1  | flags 8 | assetId 8 | depositorId 32 | maxTokens 48 | signer 160 |
    ///      slot 2  | checkpointInterval 20 | maxDuration 28 | createdAt 40 | pricePerToken 72 | depositAmount 96 |
    ///      slot 3  | modelId 256 |  (only when the model has a verifier plug-in)
    ///
    ///      `signer` is the depositor, or the session key when FLAG_SESSION_SIGNER is set: then
    ///      `depositorId` names the depositor in `_depositors` (three addresses do not fit three slots
    ///      beside the amounts; the depositor is needed only to end a session, the signer by every proof).
    ///      Widths follow `_open`'s bounds: price <= the asset's uint72 maximum, maxDuration <= 365 days
    ///      < 2^28, checkpointInterval <= 1,000,000 < 2^20.
    struct PackedSession {
        // slot 0: what every proof reads and writes
        address host;
        uint48 provenTokens;
        uint40 lastActivity;
        SessionStatus status;
        // slot 1: what every proof reads
        address signer;
        uint48 maxTokens;
        uint32 depositorId;
        uint8 assetId;
        uint8 flags;
        // slot 2: read at settlement; `durationAndInterval` = maxDuration | checkpointInterval << 28
        uint96 depositAmount;
        uint72 pricePerToken;
        uint40 createdAt;
        uint48 durationAndInterval;
        // slot 3: only when the model has a verifier plug-in
        bytes32 modelId;
    }

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IJobMarketplaceWithModels
    uint256 public nextJobId;
    /// @inheritdoc IJobMarketplaceWithModels
    address public treasury;
    /// @inheritdoc IJobMarketplaceWithModels
    mapping(address depositor => mapping(address token => uint256 amount)) public pendingRefunds;

    /// @dev Accumulated treasury fees + 1 per asset (address(0) = ETH), set to 1 when the asset is
    ///      configured: a withdrawal leaves 1, so the next fee is a non-zero to non-zero write.
    mapping(address token => uint256 feesPlusOne) private _treasuryFees;
    mapping(uint256 jobId => PackedSession job) private _sessionJobs;
    mapping(address token => AssetConfig config) private _assetConfigs;
    /// @dev Index = asset id; entry 0 is ETH (address(0)). Append-only, so ids stay valid forever.
    address[] private _assetTokens;
    /// @dev Depositors who named a session key, by id; entry 0 is a placeholder (id 0 = none).
    ///      Append-only and written once per depositor, so an id names the same depositor forever.
    address[] private _depositors;
    mapping(address depositor => uint256 depositorId) private _depositorIds;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @notice Deploys the HostEarnings that only this marketplace can credit.
    /// @param nodeRegistry_ Prices and admits hosts.
    /// @param proofSystem_ Verifies ERC-1271 receipts and consults model verifiers.
    /// @param treasury_ Receives the 10% fee.
    /// @param initialOwner Keeps the asset list and the treasury address.
    constructor(
        INodeRegistryWithModels nodeRegistry_,
        IProofSystem proofSystem_,
        address treasury_,
        address initialOwner
    ) Ownable(initialOwner) EIP712("SessionJobs", "1") {
        if (address(nodeRegistry_) == address(0) || address(proofSystem_) == address(0) || treasury_ == address(0)) {
            revert ZeroAddress();
        }
        _nodeRegistry = nodeRegistry_;
        _hostEarnings = new HostEarnings();
        _proofSystem = proofSystem_;
        treasury = treasury_;
        emit TreasuryUpdated(address(0), treasury_);

        // Ids start at 1 (0 means "no session"), which also makes every creation a warm-value write.
        nextJobId = 1;
        _depositors.push(address(0));
        _assetTokens.push(address(0));
        _configureAsset(address(0), 0.0002 ether, 1 gwei, 1e15);
    }

    /*//////////////////////////////////////////////////////////////
                           SESSION CREATION
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IJobMarketplaceWithModels
    /// @dev No reentrancy guard: an ETH creation moves no funds out and makes only static calls
    ///      (the registry's and the proof system's views), so nothing can re-enter it.
    function createSessionJob(address host, uint256 pricePerToken, uint256 maxDuration, uint256 proofInterval)
        external
        payable
        returns (uint256 jobId)
    {
        return _open(
            SessionParams({
                host: host,
                token: address(0),
                deposit: msg.value,
                pricePerToken: pricePerToken,
                maxDuration: maxDuration,
                proofInterval: proofInterval,
                modelId: bytes32(0),
                signer: address(0)
            })
        );
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function createSessionJobWithToken(
        address host,
        address token,
        uint256 deposit,
        uint256 pricePerToken,
        uint256 maxDuration,
        uint256 proofInterval
    ) external nonReentrant returns (uint256 jobId) {
        if (token == address(0)) revert TokenNotAccepted(token);
        jobId = _open(
            SessionParams({
                host: host,
                token: token,
                deposit: deposit,
                pricePerToken: pricePerToken,
                maxDuration: maxDuration,
                proofInterval: proofInterval,
                modelId: bytes32(0),
                signer: address(0)
            })
        );
        _pullDeposit(token, deposit);
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function createSession(SessionParams calldata params) external payable nonReentrant returns (uint256 jobId) {
        bool isEth = params.token == address(0);
        uint256 expectedValue = isEth ? params.deposit : 0;
        if (msg.value != expectedValue) revert ValueMismatch(msg.value, expectedValue);
        jobId = _open(params);
        if (!isEth) _pullDeposit(params.token, params.deposit);
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function createSessionWithPermit(
        SessionParams calldata params,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 jobId) {
        address token = params.token;
        if (token == address(0)) revert TokenNotAccepted(token);
        jobId = _open(params);
        // A permit can be front-run (its signature is public once in the mempool); what matters is
        // that the allowance covers the deposit afterwards.
        try IERC20Permit(token).permit(msg.sender, address(this), params.deposit, permitDeadline, v, r, s) {}
        catch {
            uint256 allowance = IERC20(token).allowance(msg.sender, address(this));
            if (allowance < params.deposit) revert PermitFailed(token, allowance, params.deposit);
        }
        _pullDeposit(token, params.deposit);
    }

    /*//////////////////////////////////////////////////////////////
                                 PROOFS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IJobMarketplaceWithModels
    function submitProofOfWork(uint256 jobId, bytes calldata proof, uint256 tokensInBatch)
        external
        returns (bool verified)
    {
        PackedSession storage job = _sessionJobs[jobId];
        _prove(jobId, job, job.status, proof, tokensInBatch, true);
        return true;
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function submitProofsBatch(uint256[] calldata jobIds, bytes[] calldata proofs, uint256[] calldata tokensInBatch)
        external
    {
        uint256 count = jobIds.length;
        if (proofs.length != count || tokensInBatch.length != count) revert LengthMismatch();
        for (uint256 i; i < count; ++i) {
            uint256 jobId = jobIds[i];
            PackedSession storage job = _sessionJobs[jobId];
            SessionStatus status = job.status;
            // An ended session (e.g. completed by the depositor while the batch was pending) is skipped,
            // so one front-run cannot revert the host's whole batch. Unknown ids, another host's
            // sessions and invalid receipts still revert: those are the caller's own errors.
            if (status > SessionStatus.Active) {
                require(msg.sender == job.host, "Only host can submit proof");
                emit ProofSkipped(jobId, status);
                continue;
            }
            _prove(jobId, job, status, proofs[i], tokensInBatch[i], false);
        }
    }

    /*//////////////////////////////////////////////////////////////
                               ENDINGS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IJobMarketplaceWithModels
    function completeSessionJob(uint256 jobId) external nonReentrant {
        PackedSession storage job = _activeSession(jobId);
        address depositor = _depositorOf(job);
        if (msg.sender != depositor && msg.sender != job.host) revert NotAuthorized(jobId, msg.sender);
        _settle(jobId, job, depositor, SessionStatus.Completed);
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function submitProofAndComplete(uint256 jobId, bytes calldata proof, uint256 tokensInBatch) external nonReentrant {
        PackedSession storage job = _sessionJobs[jobId];
        _prove(jobId, job, job.status, proof, tokensInBatch, true);
        _settle(jobId, job, _depositorOf(job), SessionStatus.Completed);
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function triggerSessionTimeout(uint256 jobId) external nonReentrant {
        PackedSession storage job = _activeSession(jobId);
        uint256 expiresAt = uint256(job.createdAt) + (job.durationAndInterval & DURATION_MASK);
        if (block.timestamp < expiresAt) revert SessionNotExpired(jobId, expiresAt);
        emit SessionTimedOut(jobId, msg.sender);
        _settle(jobId, job, _depositorOf(job), SessionStatus.TimedOut);
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function claimAbandonedSession(uint256 jobId) external nonReentrant {
        PackedSession storage job = _activeSession(jobId);
        if (msg.sender != job.host) revert NotAuthorized(jobId, msg.sender);
        uint256 claimableAt = uint256(job.lastActivity) + ABANDONMENT_TIMEOUT;
        if (block.timestamp < claimableAt) revert SessionNotAbandoned(jobId, claimableAt);
        emit SessionAbandoned(jobId, msg.sender);
        _settle(jobId, job, _depositorOf(job), SessionStatus.Abandoned);
    }

    /*//////////////////////////////////////////////////////////////
                          REFUNDS AND TREASURY
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IJobMarketplaceWithModels
    function withdrawRefund(address token) external nonReentrant {
        _withdrawRefund(token, msg.sender);
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function withdrawRefundTo(address token, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        _withdrawRefund(token, to);
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function withdrawTreasuryFees(address[] calldata tokens) external nonReentrant {
        address treasury_ = treasury;
        if (msg.sender != treasury_) revert OnlyTreasury(msg.sender);
        for (uint256 i; i < tokens.length; ++i) {
            address token = tokens[i];
            uint256 amount = _feesOf(token);
            if (amount == 0) continue;
            _treasuryFees[token] = 1;
            emit TreasuryFeesWithdrawn(treasury_, token, amount);
            _send(token, treasury_, amount);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 ADMIN
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IJobMarketplaceWithModels
    function configureAsset(address token, uint256 minDeposit, uint256 minPricePerToken, uint256 maxPricePerToken)
        external
        onlyOwner
    {
        if (token != address(0) && token.code.length == 0) revert InvalidAssetConfig();
        _configureAsset(token, minDeposit, minPricePerToken, maxPricePerToken);
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function removeAsset(address token) external onlyOwner {
        AssetConfig storage config = _assetConfigs[token];
        if (!config.accepted) revert TokenNotAccepted(token);
        config.accepted = false;
        emit AssetRemoved(token);
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function setTreasury(address treasury_) external onlyOwner {
        if (treasury_ == address(0)) revert ZeroAddress();
        emit TreasuryUpdated(treasury, treasury_);
        treasury = treasury_;
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IJobMarketplaceWithModels
    function sessionJobs(uint256 jobId) external view returns (SessionJob memory view_) {
        PackedSession storage job = _sessionJobs[jobId];
        view_.host = job.host;
        view_.provenTokens = job.provenTokens;
        view_.lastActivity = job.lastActivity;
        view_.status = job.status;
        view_.depositor = _depositorOf(job);
        view_.maxTokens = job.maxTokens;
        view_.maxDuration = job.durationAndInterval & DURATION_MASK;
        view_.assetId = job.assetId;
        view_.flags = job.flags;
        view_.depositAmount = job.depositAmount;
        view_.pricePerToken = job.pricePerToken;
        view_.createdAt = job.createdAt;
        view_.checkpointInterval = job.durationAndInterval >> DURATION_BITS;
        view_.sessionSigner = job.flags & FLAG_SESSION_SIGNER != 0 ? job.signer : address(0);
        view_.modelId = job.modelId;
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function accumulatedTreasuryETH() external view returns (uint256) {
        return _feesOf(address(0));
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function accumulatedTreasuryTokens(address token) external view returns (uint256) {
        return _feesOf(token);
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function getSession(uint256 jobId) external view returns (SessionInfo memory info) {
        PackedSession storage job = _sessionJobs[jobId];
        info.depositor = _depositorOf(job);
        info.host = job.host;
        info.token = _assetTokens[job.assetId];
        info.signer = job.signer;
        info.modelId = job.modelId;
        info.depositAmount = job.depositAmount;
        info.pricePerToken = job.pricePerToken;
        info.provenTokens = job.provenTokens;
        info.maxTokens = job.maxTokens;
        info.checkpointInterval = job.durationAndInterval >> DURATION_BITS;
        info.maxDuration = job.durationAndInterval & DURATION_MASK;
        info.createdAt = job.createdAt;
        info.lastActivity = job.lastActivity;
        info.status = job.status;
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function hashCheckpoint(uint256 jobId, uint256 cumulativeTokens, bytes32 transcriptHash)
        external
        view
        returns (bytes32)
    {
        return _hashCheckpoint(jobId, cumulativeTokens, transcriptHash);
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function getAssetConfig(address token) external view returns (AssetConfig memory) {
        return _assetConfigs[token];
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function assetTokens(uint8 assetId) external view returns (address) {
        return _assetTokens[assetId];
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function getAcceptedTokens() external view returns (address[] memory tokens) {
        uint256 total = _assetTokens.length;
        tokens = new address[](total - 1);
        uint256 count;
        for (uint256 id = 1; id < total; ++id) {
            address token = _assetTokens[id];
            if (_assetConfigs[token].accepted) tokens[count++] = token;
        }
        assembly ("memory-safe") {
            mstore(tokens, count) // shrink to the accepted ones
        }
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function nodeRegistry() external view returns (address) {
        return address(_nodeRegistry);
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function hostEarnings() external view returns (address) {
        return address(_hostEarnings);
    }

    /// @inheritdoc IJobMarketplaceWithModels
    function proofSystem() external view returns (address) {
        return address(_proofSystem);
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL: CREATION
    //////////////////////////////////////////////////////////////*/

    /// @dev Validates the terms and stores the session; the caller collects the deposit afterwards.
    function _open(SessionParams memory p) private returns (uint256 jobId) {
        AssetConfig memory asset = _assetConfigs[p.token];
        if (!asset.accepted) revert TokenNotAccepted(p.token);

        (bool active, uint256 hostMinPrice, bool servesModel, uint256 hostMaxInterval, uint256 hostMinDeposit) =
            _nodeRegistry.getHostTerms(p.host, p.token, p.modelId);
        require(active, "Host not registered");
        if (!servesModel) revert ModelNotServed(p.host, p.modelId);
        require(p.pricePerToken >= hostMinPrice, "Price below host minimum");
        if (p.pricePerToken < asset.minPricePerToken || p.pricePerToken > asset.maxPricePerToken) {
            revert PriceOutOfRange(p.pricePerToken, asset.minPricePerToken, asset.maxPricePerToken);
        }
        if (p.proofInterval < MIN_PROOF_INTERVAL || p.proofInterval > MAX_PROOF_INTERVAL) {
            revert InvalidProofInterval(p.proofInterval, MIN_PROOF_INTERVAL, MAX_PROOF_INTERVAL);
        }
        if (p.proofInterval > hostMaxInterval) revert CheckpointIntervalAboveHostMax(p.proofInterval, hostMaxInterval);
        if (p.maxDuration < MIN_SESSION_DURATION || p.maxDuration > MAX_SESSION_DURATION) {
            revert InvalidDuration(p.maxDuration, MIN_SESSION_DURATION, MAX_SESSION_DURATION);
        }
        // A deposit must meet the asset's minimum and pay for at least one token.
        require(p.deposit >= asset.minDeposit && p.deposit >= p.pricePerToken, "Insufficient deposit");
        if (p.deposit < hostMinDeposit) revert DepositBelowHostMinimum(p.deposit, hostMinDeposit);
        if (p.deposit > type(uint96).max) revert DepositTooLarge(p.deposit);

        address signer = p.signer == address(0) ? msg.sender : p.signer;
        if (signer == p.host) revert SignerIsHost(signer);

        uint256 maxTokens = p.deposit / p.pricePerToken;
        if (maxTokens > type(uint48).max) maxTokens = type(uint48).max;

        jobId = nextJobId++;
        PackedSession storage job = _sessionJobs[jobId];
        // Bits 208-255 of slot 1: depositor id (session key only), asset id, flags.
        uint256 ids = uint256(asset.assetId) << 240;
        if (signer != msg.sender) {
            ids |= (_depositorIdOf(msg.sender) << 208) | (uint256(FLAG_SESSION_SIGNER) << 248);
        }
        // The model is kept only for its verifier; SessionJobCreated records it for everyone else.
        if (p.modelId != bytes32(0) && _proofSystem.modelVerifiers(p.modelId) != address(0)) {
            ids |= uint256(FLAG_MODEL_VERIFIER) << 248;
            job.modelId = p.modelId;
        }
        _storeSlots(job, p, signer, maxTokens, ids);
        _emitCreated(jobId, p, signer);
    }

    /// @dev The depositor's id, assigned on its first session with a session key (two slots, once).
    function _depositorIdOf(address depositor) private returns (uint256 depositorId) {
        depositorId = _depositorIds[depositor];
        if (depositorId != 0) return depositorId;
        depositorId = _depositors.length;
        if (depositorId > type(uint32).max) revert TooManyDepositors();
        _depositors.push(depositor);
        _depositorIds[depositor] = depositorId;
    }

    /// @dev Writes slots 0-2 of a new session, each once and whole (a field-by-field write reads and
    ///      masks the slot for every field). The widths are bounded by `_open`'s checks: prices by the
    ///      uint72 asset bounds, interval by MAX_PROOF_INTERVAL < 2^20, duration by MAX_SESSION_DURATION
    ///      < 2^28, deposit by uint96, maxTokens by uint48; `ids` holds bits 208-255 of slot 1.
    function _storeSlots(
        PackedSession storage job,
        SessionParams memory p,
        address signer,
        uint256 maxTokens,
        uint256 ids
    ) private {
        uint256 slot0 = _packSlot0(p.host, 0);
        uint256 slot1 = uint256(uint160(signer)) | (maxTokens << 160) | ids;
        uint256 slot2 = p.deposit | (p.pricePerToken << 96) | (block.timestamp << 168) | (p.maxDuration << 208)
            | (p.proofInterval << (208 + DURATION_BITS));
        assembly ("memory-safe") {
            sstore(job.slot, slot0)
            sstore(add(job.slot, 1), slot1)
            sstore(add(job.slot, 2), slot2)
        }
    }

    /// @dev Separate frame: the event's ten fields do not fit beside `_open`'s locals.
    function _emitCreated(uint256 jobId, SessionParams memory p, address signer) private {
        emit SessionJobCreated(
            jobId,
            msg.sender,
            p.host,
            p.token,
            p.deposit,
            p.pricePerToken,
            p.maxDuration,
            p.proofInterval,
            p.modelId,
            signer
        );
    }

    /// @dev Pulls an ERC-20 deposit and refuses tokens that deliver a different amount.
    function _pullDeposit(address token, uint256 deposit) private {
        IERC20 erc20 = IERC20(token);
        uint256 balanceBefore = erc20.balanceOf(address(this));
        erc20.safeTransferFrom(msg.sender, address(this), deposit);
        uint256 received = erc20.balanceOf(address(this)) - balanceBefore;
        if (received != deposit) revert DepositNotReceived(deposit, received);
    }

    function _configureAsset(address token, uint256 minDeposit, uint256 minPricePerToken, uint256 maxPricePerToken)
        private
    {
        if (
            minPricePerToken == 0 || minPricePerToken > maxPricePerToken || maxPricePerToken > type(uint72).max
                || minDeposit > type(uint96).max
        ) revert InvalidAssetConfig();
        AssetConfig storage config = _assetConfigs[token];
        uint8 assetId = config.assetId;
        if (token != address(0) && assetId == 0) {
            if (_assetTokens.length > type(uint8).max) revert TooManyAssets();
            assetId = uint8(_assetTokens.length);
            _assetTokens.push(token);
        }
        config.accepted = true;
        config.assetId = assetId;
        config.minDeposit = uint96(minDeposit);
        config.minPricePerToken = uint72(minPricePerToken);
        config.maxPricePerToken = uint72(maxPricePerToken);
        if (_treasuryFees[token] == 0) _treasuryFees[token] = 1;
        emit AssetConfigured(token, assetId, minDeposit, minPricePerToken, maxPricePerToken);
    }

    /*//////////////////////////////////////////////////////////////
                            INTERNAL: PROOFS
    //////////////////////////////////////////////////////////////*/

    /// @dev Verifies a cumulative receipt and records it. Checks are ordered cheapest first.
    ///      `status` is `job.status`, read by the caller (the batch reads it once for its skip check).
    ///      A receipt that does not verify reverts when `strict`, else is skipped with ProofRejected.
    function _prove(
        uint256 jobId,
        PackedSession storage job,
        SessionStatus status,
        bytes calldata proof,
        uint256 tokensInBatch,
        bool strict
    ) private {
        if (status != SessionStatus.Active) revert SessionNotActive(jobId, status);
        address host = job.host;
        require(msg.sender == host, "Only host can submit proof");
        if (tokensInBatch == 0) revert ZeroTokens(jobId);
        uint256 proven = job.provenTokens;
        // maxTokens = deposit / price (floored), so this is exactly `(proven + batch) * price <= deposit`.
        require(tokensInBatch <= job.maxTokens - proven, "Exceeds deposit");
        if (proof.length <= 32) revert InvalidProofLength(proof.length);

        uint256 cumulativeTokens = proven + tokensInBatch;
        bytes32 transcriptHash = bytes32(proof[:32]);
        bytes32 proofHash = _hashCheckpoint(jobId, cumulativeTokens, transcriptHash);
        address signer = job.signer;
        if (
            !_isValidReceipt(signer, proofHash, proof[32:])
                || (job.flags & FLAG_MODEL_VERIFIER != 0
                    && !_proofSystem.verifyModelCheckpoint(jobId, job.modelId, host, cumulativeTokens, transcriptHash))
        ) {
            if (strict) revert InvalidProof(jobId, signer);
            emit ProofRejected(jobId, signer);
            return;
        }

        uint256 slot0 = _packSlot0(host, cumulativeTokens);
        assembly ("memory-safe") {
            sstore(job.slot, slot0)
        }
        emit ProofSubmitted(jobId, host, tokensInBatch, proofHash, true);
    }

    /// @dev Slot 0 of an active session (see PackedSession): host, proven tokens, last activity = now,
    ///      status Active. `provenTokens` fits 48 bits: it never exceeds `maxTokens`.
    function _packSlot0(address host, uint256 provenTokens) private view returns (uint256) {
        return uint256(uint160(host)) | (provenTokens << 160) | (block.timestamp << 208)
            | (uint256(uint8(SessionStatus.Active)) << 248);
    }

    /// @dev 65-byte low-s ECDSA inline (the common case, no external call); anything else, or a
    ///      signature that does not recover to the signer, is decided by the ProofSystem (ERC-1271).
    function _isValidReceipt(address signer, bytes32 digest, bytes calldata signature) private view returns (bool) {
        if (signature.length == 65) {
            (address recovered, ECDSA.RecoverError error,) = ECDSA.tryRecoverCalldata(digest, signature);
            if (error == ECDSA.RecoverError.NoError && recovered == signer) return true;
        }
        return _proofSystem.isValidReceiptSignature(signer, digest, signature);
    }

    function _hashCheckpoint(uint256 jobId, uint256 cumulativeTokens, bytes32 transcriptHash)
        private
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(CHECKPOINT_TYPEHASH, jobId, cumulativeTokens, transcriptHash)));
    }

    /*//////////////////////////////////////////////////////////////
                          INTERNAL: SETTLEMENT
    //////////////////////////////////////////////////////////////*/

    /// @dev The depositor: the signer itself unless a session key signs (then by id, see PackedSession).
    function _depositorOf(PackedSession storage job) private view returns (address) {
        uint256 slot1;
        assembly ("memory-safe") {
            slot1 := sload(add(job.slot, 1))
        }
        if ((slot1 >> 248) & FLAG_SESSION_SIGNER == 0) return address(uint160(slot1));
        return _depositors[uint32(slot1 >> 208)];
    }

    function _activeSession(uint256 jobId) private view returns (PackedSession storage job) {
        job = _sessionJobs[jobId];
        SessionStatus status = job.status;
        if (status != SessionStatus.Active) revert SessionNotActive(jobId, status);
    }

    /// @dev Ends an active session: pays proven work (fee to the treasury, the rest to the host's
    ///      earnings) and refunds the remainder. Never loses a wei: host share = payment - fee.
    ///      Never reverts on a token's refusal: a refused refund or host share is credited to
    ///      `pendingRefunds` of the depositor or the host. `depositor` is `_depositorOf(job)`.
    function _settle(uint256 jobId, PackedSession storage job, address depositor, SessionStatus endStatus) private {
        job.status = endStatus;
        uint256 provenTokens = job.provenTokens;
        uint256 payment = provenTokens * job.pricePerToken;
        uint256 fee = payment * TREASURY_FEE_BPS / BPS;
        uint256 hostShare = payment - fee;
        uint256 refund = job.depositAmount - payment;
        address host = job.host;
        uint8 assetId = job.assetId;
        emit SessionCompleted(jobId, msg.sender, provenTokens, payment, fee, hostShare, refund);

        if (assetId == 0) {
            if (fee != 0) _treasuryFees[address(0)] += fee;
            if (hostShare != 0) _hostEarnings.creditEarnings{value: hostShare}(host, address(0), hostShare);
            if (refund != 0) _pushEthRefund(depositor, refund);
        } else {
            address token = _assetTokens[assetId];
            if (fee != 0) _treasuryFees[token] += fee;
            if (hostShare != 0) _payHostShare(jobId, host, token, hostShare);
            if (refund != 0 && !_tryTransfer(token, depositor, refund)) _creditRefund(depositor, token, refund);
        }
    }

    /// @dev The host leg of an ERC-20 settlement must never block the ending: if the token refuses
    ///      the transfer to HostEarnings (e.g. an issuer blocklist), the share waits in `pendingRefunds`
    ///      for the host to pull. HostEarnings is credited with what arrived, not what was sent, so a
    ///      token that starts charging a transfer fee cannot make it owe more than it holds.
    function _payHostShare(uint256 jobId, address host, address token, uint256 hostShare) private {
        address earnings = address(_hostEarnings);
        uint256 balanceBefore = IERC20(token).balanceOf(earnings);
        if (!_tryTransfer(token, earnings, hostShare)) {
            pendingRefunds[host][token] += hostShare;
            emit HostShareCredited(jobId, host, token, hostShare);
            return;
        }
        uint256 balanceAfter = IERC20(token).balanceOf(earnings);
        uint256 received = balanceAfter > balanceBefore ? balanceAfter - balanceBefore : 0;
        if (received > hostShare) received = hostShare;
        if (received != 0) _hostEarnings.creditEarnings(host, token, received);
    }

    /// @dev SafeERC20's `trySafeTransfer` with a gas cap and no return data copied beyond one word:
    ///      true when the call succeeded and returned nothing (a token without a return value) or true.
    function _tryTransfer(address token, address to, uint256 amount) private returns (bool ok) {
        bytes memory data = abi.encodeCall(IERC20.transfer, (to, amount));
        assembly ("memory-safe") {
            mstore(0, 0)
            let success := call(TOKEN_PUSH_GAS, token, 0, add(data, 0x20), mload(data), 0, 0x20)
            let returnedTrue := and(gt(returndatasize(), 31), eq(mload(0), 1))
            let noReturn := and(iszero(returndatasize()), gt(extcodesize(token), 0))
            ok := and(success, or(returnedTrue, noReturn))
        }
    }

    function _feesOf(address token) private view returns (uint256) {
        uint256 feesPlusOne = _treasuryFees[token];
        return feesPlusOne == 0 ? 0 : feesPlusOne - 1;
    }

    function _pushEthRefund(address depositor, uint256 amount) private {
        bool sent;
        // No return data is copied: a depositor cannot grief the caller with a huge revert reason.
        assembly ("memory-safe") {
            sent := call(REFUND_PUSH_GAS, depositor, amount, 0, 0, 0, 0)
        }
        if (!sent) _creditRefund(depositor, address(0), amount);
    }

    function _creditRefund(address depositor, address token, uint256 amount) private {
        pendingRefunds[depositor][token] += amount;
        emit RefundCredited(depositor, token, amount);
    }

    function _withdrawRefund(address token, address to) private {
        uint256 amount = pendingRefunds[msg.sender][token];
        if (amount == 0) revert NothingToWithdraw(token);
        pendingRefunds[msg.sender][token] = 0;
        emit RefundWithdrawn(msg.sender, token, to, amount);
        _send(token, to, amount);
    }

    /// @dev Sends ETH (all gas, reverting on failure) or an ERC-20 (SafeERC20).
    function _send(address token, address to, uint256 amount) private {
        if (token == address(0)) {
            (bool sent,) = payable(to).call{value: amount}("");
            if (!sent) revert EthTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }
}
