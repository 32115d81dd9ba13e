// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CommonBase} from "forge-std/Base.sol";
import {StdAssertions} from "forge-std/StdAssertions.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {HostEarnings} from "../../../src/HostEarnings.sol";
import {JobMarketplaceWithModels} from "../../../src/JobMarketplaceWithModels.sol";
import {IJobMarketplaceWithModels as IJM} from "../../../src/interfaces/IJobMarketplaceWithModels.sol";
import {TestUSDC} from "../../../src/testing/TestUSDC.sol";
import {EthRejectingDepositor} from "../../utils/mocks/Actors.sol";

/// @dev Drives many sessions across ETH and a 6-decimal token: creations (plain, session key,
///      permit, by a depositor contract that rejects ETH), proofs (single and batched), every ending,
///      and every withdrawal, with bounded time warps. After each action it compares every session
///      with the last snapshot and counts any provenTokens decrease or status regression.
///      Every action asserts its own outcome: a success moves exactly what it should (proven tokens,
///      the fee, the host's share, the refund), and the misuse actions expect their exact error. With
///      `fail_on_revert = true`, a broken settlement, split or status check fails the campaign by itself.
contract MarketplaceHandler is CommonBase, StdAssertions, StdCheats, StdUtils {
    struct GhostJob {
        uint256 id;
        uint256 signerKey;
        address depositor;
        address host;
        address token;
        uint256 deposit;
        uint256 price;
        uint256 lastProven;
        IJM.SessionStatus lastStatus;
    }

    JobMarketplaceWithModels public immutable marketplace;
    HostEarnings public immutable hostEarnings;
    TestUSDC public immutable usdc;
    EthRejectingDepositor public immutable rejecter;

    address[] public hosts;
    address[] public depositors; // EOAs first, then the ETH-rejecting contract
    uint256[] internal depositorKeys; // keys of the EOAs; the contract's sessions use sessionKey
    uint256 internal immutable sessionKeyPk;
    address public immutable treasury;
    address public immutable refundPayee = makeAddr("refundPayee");

    /// @dev Balances a settlement moves, taken before it.
    struct Balances {
        uint256 hostEarned; // HostEarnings balance + pendingRefunds of the host
        uint256 treasuryFees;
        uint256 depositorFunds; // wallet balance + pendingRefunds of the depositor
    }

    GhostJob[] internal _jobs;
    uint256 public provenDecreases;
    uint256 public statusRegressions;
    uint256 public paymentsAboveDeposit;
    /// @dev Deposits of sessions still active, per asset, from the handler's own inputs.
    mapping(address token => uint256 amount) public openDeposits;
    mapping(bytes32 action => uint256 count) public calls;

    constructor(
        JobMarketplaceWithModels marketplace_,
        HostEarnings hostEarnings_,
        TestUSDC usdc_,
        address[] memory hosts_,
        address treasury_
    ) {
        marketplace = marketplace_;
        hostEarnings = hostEarnings_;
        usdc = usdc_;
        hosts = hosts_;
        treasury = treasury_;
        (, sessionKeyPk) = makeAddrAndKey("handler-session-key");
        for (uint256 i; i < 3; ++i) {
            (address who, uint256 key) = makeAddrAndKey(string.concat("depositor", vm.toString(i)));
            depositors.push(who);
            depositorKeys.push(key);
            vm.prank(who);
            usdc.approve(address(marketplace_), type(uint256).max);
        }
        rejecter = new EthRejectingDepositor(marketplace_);
        depositors.push(address(rejecter));
    }

    modifier tracked(bytes32 action) {
        calls[action]++;
        _;
        _checkMonotonic();
    }

    /*//////////////////////////////////////////////////////////////
                                CREATION
    //////////////////////////////////////////////////////////////*/

    function createEth(uint256 actorSeed, uint256 hostSeed, uint256 deposit, uint256 price, bool withSessionKey)
        external
        tracked("createEth")
    {
        uint256 actor = bound(actorSeed, 0, depositors.length - 1);
        address host = hosts[bound(hostSeed, 0, hosts.length - 1)];
        price = bound(price, 1 gwei, 1e12);
        deposit = bound(deposit, 0.0002 ether, 5 ether);
        if (deposit < price) deposit = price;
        address depositor = depositors[actor];

        uint256 jobId;
        uint256 signerKey;
        if (depositor == address(rejecter)) {
            signerKey = sessionKeyPk;
            vm.deal(address(this), deposit);
            jobId = rejecter.open{value: deposit}(host, price, vm.addr(sessionKeyPk));
        } else {
            signerKey = withSessionKey ? sessionKeyPk : depositorKeys[actor];
            vm.deal(depositor, depositor.balance + deposit);
            vm.prank(depositor);
            jobId = marketplace.createSession{value: deposit}(_params(host, address(0), deposit, price, signerKey));
        }
        _record(GhostJob(jobId, signerKey, depositor, host, address(0), deposit, price, 0, IJM.SessionStatus.Active));
    }

    function createUsdc(uint256 actorSeed, uint256 hostSeed, uint256 deposit, uint256 price, bool usePermit)
        external
        tracked("createUsdc")
    {
        uint256 actor = bound(actorSeed, 0, depositorKeys.length - 1);
        address host = hosts[bound(hostSeed, 0, hosts.length - 1)];
        price = bound(price, 2000, 100_000);
        deposit = bound(deposit, 800_000, 50_000e6);
        if (deposit < price) deposit = price;
        address depositor = depositors[actor];
        usdc.mint(depositor, deposit);

        IJM.SessionParams memory p = _params(host, address(usdc), deposit, price, sessionKeyPk);
        uint256 jobId;
        if (usePermit) {
            vm.prank(depositor);
            usdc.approve(address(marketplace), 0);
            (uint8 v, bytes32 r, bytes32 s) = _permit(actor, deposit);
            vm.prank(depositor);
            jobId = marketplace.createSessionWithPermit(p, block.timestamp, v, r, s);
            vm.prank(depositor);
            usdc.approve(address(marketplace), type(uint256).max);
        } else {
            vm.prank(depositor);
            jobId = marketplace.createSession(p);
        }
        _record(
            GhostJob(jobId, sessionKeyPk, depositor, host, address(usdc), deposit, price, 0, IJM.SessionStatus.Active)
        );
    }

    /*//////////////////////////////////////////////////////////////
                                 PROOFS
    //////////////////////////////////////////////////////////////*/

    function prove(uint256 jobSeed, uint256 tokens) external tracked("prove") {
        (uint256 index, bool found) = _activeJob(jobSeed);
        if (!found) return;
        GhostJob storage job = _jobs[index];
        (bytes memory proof, uint256 batch) = _proofFor(job, tokens);
        if (batch == 0) return;
        uint256 provenBefore = job.lastProven;
        vm.prank(job.host);
        assertTrue(marketplace.submitProofOfWork(job.id, proof, batch));
        IJM.SessionInfo memory info = marketplace.getSession(job.id);
        assertEq(info.provenTokens, provenBefore + batch, "proof adds its tokens");
        assertEq(info.lastActivity, block.timestamp, "proof is activity");
    }

    function proveBatch(uint256 jobSeed, uint256 tokens) external tracked("proveBatch") {
        (uint256 index, bool found) = _activeJob(jobSeed);
        if (!found) return;
        address host = _jobs[index].host;
        uint256[] memory ids = new uint256[](_jobs.length);
        bytes[] memory proofs = new bytes[](_jobs.length);
        uint256[] memory counts = new uint256[](_jobs.length);
        uint256 n;
        for (uint256 i; i < _jobs.length && n < 5; ++i) {
            GhostJob storage job = _jobs[i];
            if (job.host != host || _status(job.id) != IJM.SessionStatus.Active) continue;
            (bytes memory proof, uint256 batch) = _proofFor(job, tokens);
            if (batch == 0) continue;
            (ids[n], proofs[n], counts[n]) = (job.id, proof, batch);
            ++n;
        }
        assembly ("memory-safe") {
            mstore(ids, n)
            mstore(proofs, n)
            mstore(counts, n)
        }
        uint256[] memory before = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            before[i] = marketplace.getSession(ids[i]).provenTokens;
        }
        vm.prank(host);
        marketplace.submitProofsBatch(ids, proofs, counts);
        for (uint256 i; i < n; ++i) {
            assertEq(
                marketplace.getSession(ids[i]).provenTokens, before[i] + counts[i], "each entry adds its own tokens"
            );
        }
    }

    /*//////////////////////////////////////////////////////////////
                                ENDINGS
    //////////////////////////////////////////////////////////////*/

    function complete(uint256 jobSeed, bool byHost) external tracked("complete") {
        (uint256 index, bool found) = _activeJob(jobSeed);
        if (!found) return;
        GhostJob storage job = _jobs[index];
        Balances memory before = _balances(job);
        if (byHost) {
            vm.prank(job.host);
            marketplace.completeSessionJob(job.id);
        } else if (job.depositor == address(rejecter)) {
            rejecter.complete(job.id);
        } else {
            vm.prank(job.depositor);
            marketplace.completeSessionJob(job.id);
        }
        _assertSettled(job, before, IJM.SessionStatus.Completed);
    }

    function proveAndComplete(uint256 jobSeed, uint256 tokens) external tracked("proveAndComplete") {
        (uint256 index, bool found) = _activeJob(jobSeed);
        if (!found) return;
        GhostJob storage job = _jobs[index];
        (bytes memory proof, uint256 batch) = _proofFor(job, tokens);
        if (batch == 0) return;
        Balances memory before = _balances(job);
        uint256 provenBefore = job.lastProven;
        vm.prank(job.host);
        marketplace.submitProofAndComplete(job.id, proof, batch);
        assertEq(marketplace.getSession(job.id).provenTokens, provenBefore + batch, "final proof counted");
        _assertSettled(job, before, IJM.SessionStatus.Completed);
    }

    function timeout(uint256 jobSeed, uint256 callerSeed) external tracked("timeout") {
        (uint256 index, bool found) = _activeJob(jobSeed);
        if (!found) return;
        GhostJob storage job = _jobs[index];
        IJM.SessionInfo memory info = marketplace.getSession(job.id);
        uint256 expiresAt = info.createdAt + info.maxDuration;
        if (block.timestamp < expiresAt) vm.warp(expiresAt);
        Balances memory before = _balances(job);
        vm.prank(vm.addr(bound(callerSeed, 1, 1000))); // anyone: a fresh caller
        marketplace.triggerSessionTimeout(job.id);
        _assertSettled(job, before, IJM.SessionStatus.TimedOut);
    }

    function claimAbandoned(uint256 jobSeed) external tracked("claimAbandoned") {
        (uint256 index, bool found) = _activeJob(jobSeed);
        if (!found) return;
        GhostJob storage job = _jobs[index];
        uint256 claimableAt = marketplace.getSession(job.id).lastActivity + 24 hours;
        if (block.timestamp < claimableAt) vm.warp(claimableAt);
        Balances memory before = _balances(job);
        vm.prank(job.host);
        marketplace.claimAbandonedSession(job.id);
        _assertSettled(job, before, IJM.SessionStatus.Abandoned);
    }

    /*//////////////////////////////////////////////////////////////
                       MISUSE: EACH EXPECTS ITS ERROR
    //////////////////////////////////////////////////////////////*/

    /// @dev Any ending or proof of a session that has ended reverts SessionNotActive.
    function touchEnded(uint256 jobSeed, uint256 how) external tracked("touchEnded") {
        (uint256 index, bool found) = _endedJob(jobSeed);
        if (!found) return;
        GhostJob storage job = _jobs[index];
        IJM.SessionStatus status = _status(job.id);
        how = bound(how, 0, 3);
        bytes memory proof = _receipt(job.id, job.signerKey, job.lastProven + 1);
        vm.expectRevert(abi.encodeWithSelector(IJM.SessionNotActive.selector, job.id, status));
        if (how == 0) {
            vm.prank(job.host);
            marketplace.completeSessionJob(job.id);
        } else if (how == 1) {
            marketplace.triggerSessionTimeout(job.id);
        } else if (how == 2) {
            vm.prank(job.host);
            marketplace.claimAbandonedSession(job.id);
        } else {
            vm.prank(job.host);
            marketplace.submitProofOfWork(job.id, proof, 1);
        }
    }

    /// @dev A stranger may not complete, a depositor may not claim, nobody may time out early, and no
    ///      proof may pay for more than the deposit.
    function misuseActive(uint256 jobSeed, uint256 how) external tracked("misuseActive") {
        (uint256 index, bool found) = _activeJob(jobSeed);
        if (!found) return;
        GhostJob storage job = _jobs[index];
        IJM.SessionInfo memory info = marketplace.getSession(job.id);
        address stranger = makeAddr("stranger");
        how = bound(how, 0, 3);
        if (how == 0) {
            vm.expectRevert(abi.encodeWithSelector(IJM.NotAuthorized.selector, job.id, stranger));
            vm.prank(stranger);
            marketplace.completeSessionJob(job.id);
        } else if (how == 1) {
            vm.expectRevert(abi.encodeWithSelector(IJM.NotAuthorized.selector, job.id, stranger));
            vm.prank(stranger);
            marketplace.claimAbandonedSession(job.id);
        } else if (how == 2) {
            uint256 expiresAt = info.createdAt + info.maxDuration;
            if (block.timestamp >= expiresAt) return;
            vm.expectRevert(abi.encodeWithSelector(IJM.SessionNotExpired.selector, job.id, expiresAt));
            marketplace.triggerSessionTimeout(job.id);
        } else {
            uint256 tooMany = info.maxTokens - info.provenTokens + 1;
            bytes memory proof = _receipt(job.id, job.signerKey, info.provenTokens + tooMany);
            vm.expectRevert("Exceeds deposit");
            vm.prank(job.host);
            marketplace.submitProofOfWork(job.id, proof, tooMany);
        }
    }

    /*//////////////////////////////////////////////////////////////
                              WITHDRAWALS
    //////////////////////////////////////////////////////////////*/

    function withdrawHostEarnings(uint256 hostSeed, uint256 mode, uint256 amount) external tracked("withdrawHost") {
        address host = hosts[bound(hostSeed, 0, hosts.length - 1)];
        mode = bound(mode, 0, 3);
        vm.startPrank(host);
        if (mode == 0) {
            amount = bound(amount, 0, hostEarnings.getBalance(host, address(0)));
            hostEarnings.withdraw(address(0), amount);
        } else if (mode == 3) {
            amount = bound(amount, 0, hostEarnings.getBalance(host, address(usdc)));
            hostEarnings.withdrawTo(address(usdc), amount, refundPayee);
        } else if (mode == 1) {
            hostEarnings.withdrawAll(address(usdc));
        } else {
            address[] memory tokens = new address[](2);
            tokens[1] = address(usdc);
            hostEarnings.withdrawMultiple(tokens);
        }
        vm.stopPrank();
    }

    function withdrawTreasury() external tracked("withdrawTreasury") {
        address[] memory tokens = new address[](2);
        tokens[1] = address(usdc);
        vm.prank(treasury);
        marketplace.withdrawTreasuryFees(tokens);
    }

    function withdrawRefund() external tracked("withdrawRefund") {
        if (marketplace.pendingRefunds(address(rejecter), address(0)) == 0) return;
        rejecter.withdrawRefundTo(refundPayee);
    }

    function warp(uint256 seconds_) external tracked("warp") {
        vm.warp(block.timestamp + bound(seconds_, 1, 2 days));
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    function jobCount() external view returns (uint256) {
        return _jobs.length;
    }

    function jobIdAt(uint256 index) external view returns (uint256) {
        return _jobs[index].id;
    }

    function hostCount() external view returns (uint256) {
        return hosts.length;
    }

    function depositorCount() external view returns (uint256) {
        return depositors.length;
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _params(address host, address token, uint256 deposit, uint256 price, uint256 signerKey)
        internal
        pure
        returns (IJM.SessionParams memory)
    {
        return IJM.SessionParams({
            host: host,
            token: token,
            deposit: deposit,
            pricePerToken: price,
            maxDuration: 1 hours,
            proofInterval: 1000,
            modelId: bytes32(0),
            signer: vm.addr(signerKey)
        });
    }

    function _balances(GhostJob storage job) internal view returns (Balances memory b) {
        address token = job.token;
        b.hostEarned = hostEarnings.getBalance(job.host, token) + marketplace.pendingRefunds(job.host, token);
        b.treasuryFees =
            token == address(0) ? marketplace.accumulatedTreasuryETH() : marketplace.accumulatedTreasuryTokens(token);
        uint256 wallet = token == address(0) ? job.depositor.balance : usdc.balanceOf(job.depositor);
        b.depositorFunds = wallet + marketplace.pendingRefunds(job.depositor, token);
    }

    /// @dev The session ended as `status` and paid exactly: proven × price, 10% fee, the rest to the
    ///      host, the remainder back to the depositor (pushed or credited).
    function _assertSettled(GhostJob storage job, Balances memory before, IJM.SessionStatus status) internal view {
        IJM.SessionInfo memory info = marketplace.getSession(job.id);
        assertEq(uint8(info.status), uint8(status), "ending status");
        uint256 payment = info.provenTokens * job.price;
        uint256 fee = payment / 10;
        Balances memory afterwards = _balances(job);
        assertEq(afterwards.treasuryFees - before.treasuryFees, fee, "treasury fee");
        assertEq(afterwards.hostEarned - before.hostEarned, payment - fee, "host share");
        assertEq(afterwards.depositorFunds - before.depositorFunds, job.deposit - payment, "refund");
    }

    /// @dev Index of the first ended job at or after a random index (wrapping), if any.
    function _endedJob(uint256 seed) internal view returns (uint256 index, bool found) {
        return _findJob(seed, false);
    }

    function _findJob(uint256 seed, bool active) internal view returns (uint256 index, bool found) {
        uint256 total = _jobs.length;
        if (total == 0) return (0, false);
        uint256 start = bound(seed, 0, total - 1);
        for (uint256 k; k < total; ++k) {
            index = (start + k) % total;
            if ((_status(_jobs[index].id) == IJM.SessionStatus.Active) == active) return (index, true);
        }
        return (0, false);
    }

    function _status(uint256 jobId) internal view returns (IJM.SessionStatus) {
        return marketplace.sessionJobs(jobId).status;
    }

    /// @dev Index of the first active job at or after a random index (wrapping), if any.
    function _activeJob(uint256 seed) internal view returns (uint256 index, bool found) {
        return _findJob(seed, true);
    }

    function _proofFor(GhostJob storage job, uint256 tokens) internal view returns (bytes memory, uint256) {
        (uint256 proven, uint256 maxTokens) = _progress(job.id);
        uint256 remaining = maxTokens - proven;
        if (remaining == 0) return ("", 0);
        uint256 batch = bound(tokens, 1, remaining < 5000 ? remaining : 5000);
        return (_receipt(job.id, job.signerKey, proven + batch), batch);
    }

    function _progress(uint256 jobId) internal view returns (uint256 proven, uint256 maxTokens) {
        IJM.SessionJob memory stored = marketplace.sessionJobs(jobId);
        return (stored.provenTokens, stored.maxTokens);
    }

    function _receipt(uint256 jobId, uint256 signerKey, uint256 cumulative) internal view returns (bytes memory) {
        bytes32 transcript = keccak256(abi.encode(jobId, cumulative));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(signerKey, marketplace.hashCheckpoint(jobId, cumulative, transcript));
        return abi.encodePacked(transcript, r, s, v);
    }

    function _permit(uint256 actor, uint256 value) internal view returns (uint8, bytes32, bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                depositors[actor],
                address(marketplace),
                value,
                usdc.nonces(depositors[actor]),
                block.timestamp
            )
        );
        return
            vm.sign(depositorKeys[actor], keccak256(abi.encodePacked("\x19\x01", usdc.DOMAIN_SEPARATOR(), structHash)));
    }

    function _record(GhostJob memory job) internal {
        _jobs.push(job);
        openDeposits[job.token] += job.deposit;
    }

    /// @dev One storage read per session per call: slot 0 holds both provenTokens and status.
    function _checkMonotonic() internal {
        for (uint256 i; i < _jobs.length; ++i) {
            GhostJob storage job = _jobs[i];
            IJM.SessionJob memory stored = marketplace.sessionJobs(job.id);
            if (stored.provenTokens < job.lastProven) provenDecreases++;
            if (stored.provenTokens * job.price > job.deposit) paymentsAboveDeposit++;
            bool regressed = uint8(stored.status) < uint8(job.lastStatus)
                || (job.lastStatus != IJM.SessionStatus.Active && stored.status != job.lastStatus);
            if (regressed) statusRegressions++;
            if (job.lastStatus == IJM.SessionStatus.Active && stored.status != IJM.SessionStatus.Active) {
                openDeposits[job.token] -= job.deposit;
            }
            job.lastProven = stored.provenTokens;
            job.lastStatus = stored.status;
        }
    }
}
