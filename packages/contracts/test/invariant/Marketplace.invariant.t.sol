// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "../utils/Base.t.sol";
import {MarketplaceHandler} from "./handlers/MarketplaceHandler.sol";

/// @dev Per asset, the escrow holds exactly what it owes; HostEarnings holds exactly what hosts can
///      withdraw; provenTokens only grows; status only moves forward; payment never exceeds deposit.
///      Default profile: 256 runs × depth 64; `FOUNDRY_PROFILE=deep` for 1000 × 256.
contract MarketplaceInvariantTest is Base {
    MarketplaceHandler internal handler;

    function setUp() public override {
        super.setUp();
        address host2 = makeAddr("host2");
        _registerHost(host2, 2000);
        address[] memory hostList = new address[](2);
        hostList[0] = host;
        hostList[1] = host2;
        handler = new MarketplaceHandler(marketplace, hostEarnings, usdc, hostList, treasury);

        bytes4[] memory selectors = new bytes4[](14);
        selectors[0] = MarketplaceHandler.createEth.selector;
        selectors[1] = MarketplaceHandler.createUsdc.selector;
        selectors[2] = MarketplaceHandler.prove.selector;
        selectors[3] = MarketplaceHandler.proveBatch.selector;
        selectors[4] = MarketplaceHandler.complete.selector;
        selectors[5] = MarketplaceHandler.proveAndComplete.selector;
        selectors[6] = MarketplaceHandler.timeout.selector;
        selectors[7] = MarketplaceHandler.claimAbandoned.selector;
        selectors[8] = MarketplaceHandler.withdrawHostEarnings.selector;
        selectors[9] = MarketplaceHandler.withdrawTreasury.selector;
        selectors[10] = MarketplaceHandler.withdrawRefund.selector;
        selectors[11] = MarketplaceHandler.warp.selector;
        selectors[12] = MarketplaceHandler.touchEnded.selector;
        selectors[13] = MarketplaceHandler.misuseActive.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @dev Depositors' unpushed refunds plus hosts' shares that HostEarnings could not receive
    ///      (the two sets of addresses are disjoint).
    function _pendingRefunds(address token) internal view returns (uint256 total) {
        for (uint256 i; i < handler.depositorCount(); ++i) {
            total += marketplace.pendingRefunds(handler.depositors(i), token);
        }
        for (uint256 i; i < handler.hostCount(); ++i) {
            total += marketplace.pendingRefunds(handler.hosts(i), token);
        }
    }

    function _hostBalances(address token) internal view returns (uint256 total) {
        for (uint256 i; i < handler.hostCount(); ++i) {
            total += hostEarnings.getBalance(handler.hosts(i), token);
        }
    }

    /// @dev One campaign checks all properties after every call (a campaign per property would cost
    ///      four times the time for the same coverage).
    function invariant_sessionJobs() public view {
        _assertEscrowBalanceEqualsWhatItOwes();
        _assertHostEarningsBalanceEqualsHostBalances();
        _assertProvenTokensOnlyGrowAndStatusOnlyMovesForward();
        _assertPaymentNeverExceedsDeposit();
        assertEq(marketplace.nextJobId(), handler.jobCount() + 1, "every session is tracked");
    }

    function _assertEscrowBalanceEqualsWhatItOwes() internal view {
        assertEq(
            address(marketplace).balance,
            handler.openDeposits(address(0)) + marketplace.accumulatedTreasuryETH() + _pendingRefunds(address(0)),
            "escrow ETH"
        );
        assertEq(
            usdc.balanceOf(address(marketplace)),
            handler.openDeposits(address(usdc)) + marketplace.accumulatedTreasuryTokens(address(usdc))
                + _pendingRefunds(address(usdc)),
            "escrow USDC"
        );
    }

    function _assertHostEarningsBalanceEqualsHostBalances() internal view {
        assertEq(address(hostEarnings).balance, _hostBalances(address(0)), "host earnings ETH");
        assertEq(usdc.balanceOf(address(hostEarnings)), _hostBalances(address(usdc)), "host earnings USDC");
    }

    function _assertProvenTokensOnlyGrowAndStatusOnlyMovesForward() internal view {
        assertEq(handler.provenDecreases(), 0, "provenTokens decreased");
        assertEq(handler.statusRegressions(), 0, "status moved backwards");
    }

    function _assertPaymentNeverExceedsDeposit() internal view {
        assertEq(handler.paymentsAboveDeposit(), 0, "payment above deposit");
    }
}
