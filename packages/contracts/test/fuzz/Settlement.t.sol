// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IJobMarketplaceWithModels as IJM} from "../../src/interfaces/IJobMarketplaceWithModels.sol";
import {Base} from "../utils/Base.t.sol";

/// @dev Fuzzes amounts, prices, intervals, durations and token counts: payment never exceeds the
///      deposit and the split loses no wei, for ETH and a 6-decimal token.
contract SettlementFuzzTest is Base {
    struct Terms {
        bool usdc;
        uint256 deposit;
        uint256 price;
        uint256 interval;
        uint256 duration;
    }

    function setUp() public override {
        super.setUp();
        // The host accepts every interval the marketplace does, so the fuzzer explores them all.
        vm.prank(host);
        nodeRegistry.updateMaxCheckpointInterval(1_000_000);
    }

    function _boundTerms(Terms memory t) internal view returns (Terms memory) {
        if (t.usdc) {
            t.price = bound(t.price, HOST_MIN_PRICE, 100_000);
            t.deposit = bound(t.deposit, 800_000, 1_000_000e6);
        } else {
            t.price = bound(t.price, 1 gwei, 1e15);
            t.deposit = bound(t.deposit, 0.0002 ether, 1_000 ether);
        }
        if (t.deposit < t.price) t.deposit = t.price;
        t.interval = bound(t.interval, marketplace.MIN_PROOF_INTERVAL(), marketplace.MAX_PROOF_INTERVAL());
        t.duration = bound(t.duration, marketplace.MIN_SESSION_DURATION(), marketplace.MAX_SESSION_DURATION());
        return t;
    }

    function _open(Terms memory t) internal returns (uint256 jobId) {
        vm.deal(depositor, t.deposit);
        vm.prank(depositor);
        if (t.usdc) {
            jobId =
                marketplace.createSessionJobWithToken(host, address(usdc), t.deposit, t.price, t.duration, t.interval);
        } else {
            jobId = marketplace.createSessionJob{value: t.deposit}(host, t.price, t.duration, t.interval);
        }
    }

    function _balance(bool isUsdc, address who) internal view returns (uint256) {
        return isUsdc ? usdc.balanceOf(who) : who.balance;
    }

    function test_fuzz_settlementNeverLosesAWei(Terms memory t, uint256[5] memory batches, uint8 ending) public {
        t = _boundTerms(t);
        uint256 jobId = _open(t);
        uint256 maxTokens = t.deposit / t.price;
        assertEq(marketplace.getSession(jobId).maxTokens, maxTokens > type(uint48).max ? type(uint48).max : maxTokens);

        for (uint256 i; i < batches.length; ++i) {
            uint256 remaining = marketplace.getSession(jobId).maxTokens - marketplace.getSession(jobId).provenTokens;
            if (remaining == 0) break;
            _submit(jobId, depositorKey, bound(batches[i], 1, remaining));
        }
        uint256 proven = marketplace.getSession(jobId).provenTokens;
        uint256 payment = proven * t.price;
        assertLe(payment, t.deposit, "payment never exceeds the deposit");

        uint256 depositorBefore = _balance(t.usdc, depositor);
        address asset = t.usdc ? address(usdc) : address(0);
        ending = uint8(bound(ending, 0, 2));
        if (ending == 0) {
            vm.prank(depositor);
            marketplace.completeSessionJob(jobId);
        } else if (ending == 1) {
            vm.warp(block.timestamp + t.duration);
            vm.prank(stranger);
            marketplace.triggerSessionTimeout(jobId);
        } else {
            vm.warp(block.timestamp + 24 hours);
            vm.prank(host);
            marketplace.claimAbandonedSession(jobId);
        }

        uint256 fee =
            t.usdc ? marketplace.accumulatedTreasuryTokens(address(usdc)) : marketplace.accumulatedTreasuryETH();
        uint256 hostShare = hostEarnings.getBalance(host, asset);
        uint256 refund = _balance(t.usdc, depositor) - depositorBefore;
        assertEq(fee, payment * 1000 / 10_000, "10% fee, rounded down");
        assertEq(hostShare, payment - fee, "host share = payment - fee");
        assertEq(refund, t.deposit - payment, "the rest is refunded");
        assertEq(fee + hostShare + refund, t.deposit, "no wei lost or created");
        assertEq(_balance(t.usdc, address(marketplace)), fee);
        assertEq(_balance(t.usdc, address(hostEarnings)), hostShare);
    }

    function test_fuzz_RevertWhen_proofExceedsDeposit(Terms memory t, uint256 overBy) public {
        t = _boundTerms(t);
        uint256 jobId = _open(t);
        uint256 maxTokens = marketplace.getSession(jobId).maxTokens;
        uint256 tokens = maxTokens + bound(overBy, 1, type(uint128).max);
        vm.prank(host);
        vm.expectRevert("Exceeds deposit");
        marketplace.submitProofOfWork(jobId, new bytes(97), tokens);
    }

    function test_fuzz_createValidatesIntervalAndDuration(uint256 interval, uint256 duration, uint256 hostMax) public {
        interval = bound(interval, 0, 2_000_000);
        duration = bound(duration, 0, 400 days);
        hostMax = bound(hostMax, 100, 1_000_000);
        vm.prank(host);
        nodeRegistry.updateMaxCheckpointInterval(hostMax);
        bool intervalOk = interval >= 100 && interval <= 1_000_000;
        bool durationOk = duration >= 60 && duration <= 365 days;
        vm.prank(depositor);
        if (!intervalOk) {
            vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProofInterval.selector, interval, 100, 1_000_000));
        } else if (interval > hostMax) {
            vm.expectRevert(abi.encodeWithSelector(IJM.CheckpointIntervalAboveHostMax.selector, interval, hostMax));
        } else if (!durationOk) {
            vm.expectRevert(abi.encodeWithSelector(IJM.InvalidDuration.selector, duration, 60, 365 days));
        }
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, duration, interval);
    }

    function test_fuzz_timeoutExactlyAtMaxDurationSeconds(uint256 duration, uint256 elapsed) public {
        duration = bound(duration, 60, 365 days);
        elapsed = bound(elapsed, 0, 2 * duration);
        vm.prank(depositor);
        uint256 jobId = marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, duration, INTERVAL);
        uint256 createdAt = block.timestamp;
        vm.warp(createdAt + elapsed);
        if (elapsed < duration) {
            vm.expectRevert(abi.encodeWithSelector(IJM.SessionNotExpired.selector, jobId, createdAt + duration));
        }
        marketplace.triggerSessionTimeout(jobId);
    }

    function test_fuzz_priceBelowHostMinimumAlwaysReverts(uint256 hostMin, uint256 price) public {
        hostMin = bound(hostMin, 101, 100_000);
        price = bound(price, 100, hostMin - 1);
        vm.prank(host);
        nodeRegistry.updatePricing(hostMin);
        vm.prank(depositor);
        vm.expectRevert("Price below host minimum");
        marketplace.createSessionJobWithToken(host, address(usdc), USDC_DEPOSIT, price, DURATION, INTERVAL);
    }
}
