// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IJobMarketplaceWithModels as IJM} from "../../src/interfaces/IJobMarketplaceWithModels.sol";
import {Base} from "../utils/Base.t.sol";

/// @dev The seed's worked example in USDC units: host minimum 1500, client price 2000, proofs at
///      1000, 2000 and 2500 tokens, then completion. Payment 2,500 × 2,000 = 5,000,000 (5 USDC):
///      treasury 500,000, host 4,500,000, the depositor gets the rest of the deposit back.
contract SeedExampleTest is Base {
    uint256 internal constant DEPOSIT = 8_000_000; // 8 USDC

    function test_seedExample_usdc() public {
        assertEq(nodeRegistry.getNodePricing(host), 1500, "step 0: query the host's minimum");
        uint256 price = 2000 > nodeRegistry.getNodePricing(host) ? 2000 : nodeRegistry.getNodePricing(host);

        uint256 depositorBefore = usdc.balanceOf(depositor);
        uint256 jobId = _openUsdc(DEPOSIT, price);

        _submit(jobId, depositorKey, 1000);
        _submit(jobId, depositorKey, 1000);
        _submit(jobId, depositorKey, 500);
        assertEq(marketplace.getSession(jobId).provenTokens, 2500);

        vm.expectEmit(address(marketplace));
        emit IJM.SessionCompleted(jobId, depositor, 2500, 5_000_000, 500_000, 4_500_000, DEPOSIT - 5_000_000);
        vm.prank(depositor);
        marketplace.completeSessionJob(jobId);

        assertEq(marketplace.accumulatedTreasuryTokens(address(usdc)), 500_000);
        assertEq(hostEarnings.getBalance(host, address(usdc)), 4_500_000);
        assertEq(usdc.balanceOf(depositor), depositorBefore - 5_000_000, "refunded exactly the unused 3 USDC");
        assertEq(usdc.balanceOf(address(marketplace)), 500_000);
        assertEq(usdc.balanceOf(address(hostEarnings)), 4_500_000);

        vm.prank(host);
        hostEarnings.withdrawAll(address(usdc));
        assertEq(usdc.balanceOf(host), 4_500_000);
        address[] memory tokens = new address[](1);
        tokens[0] = address(usdc);
        vm.prank(treasury);
        marketplace.withdrawTreasuryFees(tokens);
        assertEq(usdc.balanceOf(treasury), 500_000);
        assertEq(usdc.balanceOf(address(marketplace)), 0);
        assertEq(usdc.balanceOf(address(hostEarnings)), 0);
    }

    function test_seedExample_usdcProofAtClose() public {
        uint256 depositorBefore = usdc.balanceOf(depositor);
        uint256 jobId = _openUsdc(DEPOSIT, 2000);
        // The host keeps the newest cumulative receipt and posts only it, closing in the same call.
        bytes memory proof = _proof(depositorKey, jobId, 2500, _transcript(jobId, 2500));
        vm.prank(host);
        marketplace.submitProofAndComplete(jobId, proof, 2500);

        assertEq(marketplace.accumulatedTreasuryTokens(address(usdc)), 500_000);
        assertEq(hostEarnings.getBalance(host, address(usdc)), 4_500_000);
        assertEq(usdc.balanceOf(depositor), depositorBefore - 5_000_000);
    }

    function test_seedExample_noProofsMeansFullRefund() public {
        uint256 depositorBefore = usdc.balanceOf(depositor);
        uint256 jobId = _openUsdc(DEPOSIT, 2000);
        vm.prank(depositor);
        marketplace.completeSessionJob(jobId);
        assertEq(usdc.balanceOf(depositor), depositorBefore);
        assertEq(hostEarnings.getBalance(host, address(usdc)), 0);
    }

    function test_seedExample_priceBelowHostMinimumReverts() public {
        vm.prank(depositor);
        vm.expectRevert("Price below host minimum");
        marketplace.createSessionJobWithToken(host, address(usdc), DEPOSIT, 1499, DURATION, INTERVAL);
    }
}
