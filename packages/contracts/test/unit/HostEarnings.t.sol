// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {HostEarnings} from "../../src/HostEarnings.sol";
import {IHostEarnings} from "../../src/interfaces/IHostEarnings.sol";
import {TestUSDC} from "../../src/testing/TestUSDC.sol";
import {ReentrantHost} from "../utils/mocks/Actors.sol";

contract HostEarningsTest is Test {
    HostEarnings internal earnings;
    TestUSDC internal usdc;
    address internal marketplace = makeAddr("marketplace");
    address internal host = makeAddr("host");

    function setUp() public {
        vm.prank(marketplace);
        earnings = new HostEarnings();
        usdc = new TestUSDC();
        vm.deal(marketplace, 100 ether);
    }

    function _creditEth(address to, uint256 amount) internal {
        vm.prank(marketplace);
        earnings.creditEarnings{value: amount}(to, address(0), amount);
    }

    function _creditUsdc(address to, uint256 amount) internal {
        usdc.mint(address(earnings), amount);
        vm.prank(marketplace);
        earnings.creditEarnings(to, address(usdc), amount);
    }

    /*//////////////////////////////////////////////////////////////
                             creditEarnings
    //////////////////////////////////////////////////////////////*/

    function test_creditEarnings_eth() public {
        vm.expectEmit(address(earnings));
        emit IHostEarnings.EarningsCredited(host, address(0), 1 ether);
        _creditEth(host, 1 ether);
        assertEq(earnings.getBalance(host, address(0)), 1 ether);
        assertEq(address(earnings).balance, 1 ether);
    }

    function test_creditEarnings_token() public {
        _creditUsdc(host, 5e6);
        _creditUsdc(host, 1e6);
        assertEq(earnings.getBalance(host, address(usdc)), 6e6);
    }

    function test_RevertWhen_creditEarnings_callerNotMarketplace() public {
        vm.deal(address(this), 1 ether);
        vm.expectRevert(abi.encodeWithSelector(IHostEarnings.OnlyMarketplace.selector, address(this)));
        earnings.creditEarnings{value: 1 ether}(host, address(0), 1 ether);
    }

    function test_RevertWhen_creditEarnings_ethValueMismatch() public {
        vm.prank(marketplace);
        vm.expectRevert(abi.encodeWithSelector(IHostEarnings.ValueMismatch.selector, 1, 2));
        earnings.creditEarnings{value: 1}(host, address(0), 2);
    }

    function test_RevertWhen_creditEarnings_ethSentWithToken() public {
        vm.prank(marketplace);
        vm.expectRevert(abi.encodeWithSelector(IHostEarnings.ValueMismatch.selector, 1, 0));
        earnings.creditEarnings{value: 1}(host, address(usdc), 1);
    }

    /*//////////////////////////////////////////////////////////////
                               withdrawals
    //////////////////////////////////////////////////////////////*/

    function test_withdraw_partialEth() public {
        _creditEth(host, 1 ether);
        vm.expectEmit(address(earnings));
        emit IHostEarnings.EarningsWithdrawn(host, address(0), 0.4 ether);
        vm.prank(host);
        earnings.withdraw(address(0), 0.4 ether);
        assertEq(host.balance, 0.4 ether);
        assertEq(earnings.getBalance(host, address(0)), 0.6 ether);
    }

    function test_withdraw_partialToken() public {
        _creditUsdc(host, 5e6);
        vm.prank(host);
        earnings.withdraw(address(usdc), 2e6);
        assertEq(usdc.balanceOf(host), 2e6);
        assertEq(earnings.getBalance(host, address(usdc)), 3e6);
    }

    function test_RevertWhen_withdraw_exceedsBalance() public {
        _creditEth(host, 1 ether);
        vm.prank(host);
        vm.expectRevert(
            abi.encodeWithSelector(IHostEarnings.InsufficientEarnings.selector, address(0), 2 ether, 1 ether)
        );
        earnings.withdraw(address(0), 2 ether);
    }

    function test_withdrawAll_oneAsset() public {
        _creditEth(host, 1 ether);
        _creditUsdc(host, 5e6);
        vm.prank(host);
        earnings.withdrawAll(address(usdc));
        assertEq(usdc.balanceOf(host), 5e6);
        assertEq(earnings.getBalance(host, address(usdc)), 0);
        assertEq(earnings.getBalance(host, address(0)), 1 ether, "other asset untouched");
    }

    function test_withdrawAll_zeroIsNoop() public {
        vm.recordLogs();
        vm.prank(host);
        earnings.withdrawAll(address(0));
        assertEq(vm.getRecordedLogs().length, 0);
    }

    function test_withdrawMultiple_allAssetsSkippingEmpty() public {
        _creditEth(host, 1 ether);
        _creditUsdc(host, 5e6);
        address[] memory tokens = new address[](3);
        tokens[0] = address(0);
        tokens[1] = address(usdc);
        tokens[2] = makeAddr("emptyAsset");
        vm.prank(host);
        earnings.withdrawMultiple(tokens);
        assertEq(host.balance, 1 ether);
        assertEq(usdc.balanceOf(host), 5e6);
        uint256[] memory balances = earnings.getBalances(host, tokens);
        assertEq(balances[0] + balances[1] + balances[2], 0);
    }

    function test_RevertWhen_withdraw_hostRejectsEth() public {
        _creditEth(address(this), 1 ether); // this test contract has no receive()
        vm.expectRevert(abi.encodeWithSelector(IHostEarnings.EthTransferFailed.selector, address(this), 1 ether));
        earnings.withdrawAll(address(0));
        assertEq(earnings.getBalance(address(this), address(0)), 1 ether, "balance kept");
    }

    /// @dev I-4: a host contract without a payable receive() withdraws its ETH to another address.
    function test_withdrawTo_hostWithoutReceiveWithdrawsEth() public {
        _creditEth(address(this), 1 ether); // this test contract has no receive()
        address payee = makeAddr("payee");
        vm.expectEmit(address(earnings));
        emit IHostEarnings.EarningsWithdrawn(address(this), address(0), 0.4 ether);
        vm.expectEmit(address(earnings));
        emit IHostEarnings.EarningsWithdrawnTo(address(this), address(0), payee, 0.4 ether);
        earnings.withdrawTo(address(0), 0.4 ether, payee);
        assertEq(payee.balance, 0.4 ether);
        assertEq(earnings.getBalance(address(this), address(0)), 0.6 ether);
        assertEq(address(earnings).balance, 0.6 ether);
    }

    function test_withdrawTo_token() public {
        _creditUsdc(host, 5e6);
        address payee = makeAddr("payee");
        vm.prank(host);
        earnings.withdrawTo(address(usdc), 5e6, payee);
        assertEq(usdc.balanceOf(payee), 5e6);
        assertEq(usdc.balanceOf(host), 0);
        assertEq(earnings.getBalance(host, address(usdc)), 0);
    }

    function test_withdrawTo_zeroAmountIsNoop() public {
        _creditEth(host, 1 ether);
        vm.prank(host);
        earnings.withdrawTo(address(0), 0, makeAddr("payee"));
        assertEq(earnings.getBalance(host, address(0)), 1 ether);
    }

    function test_RevertWhen_withdrawTo_exceedsBalance() public {
        _creditEth(host, 1 ether);
        vm.prank(host);
        vm.expectRevert(
            abi.encodeWithSelector(IHostEarnings.InsufficientEarnings.selector, address(0), 2 ether, 1 ether)
        );
        earnings.withdrawTo(address(0), 2 ether, makeAddr("payee"));
    }

    function test_RevertWhen_withdrawTo_zeroRecipient() public {
        _creditEth(host, 1 ether);
        vm.prank(host);
        vm.expectRevert(IHostEarnings.ZeroAddress.selector);
        earnings.withdrawTo(address(0), 1 ether, address(0));
    }

    function test_RevertWhen_withdrawTo_recipientRejectsEth() public {
        _creditEth(host, 1 ether);
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IHostEarnings.EthTransferFailed.selector, address(this), 1 ether));
        earnings.withdrawTo(address(0), 1 ether, address(this));
        assertEq(earnings.getBalance(host, address(0)), 1 ether, "balance kept");
    }

    function test_RevertWhen_withdrawTo_strangerHasNoBalance() public {
        _creditEth(host, 1 ether);
        vm.prank(makeAddr("stranger"));
        vm.expectRevert(abi.encodeWithSelector(IHostEarnings.InsufficientEarnings.selector, address(0), 1 ether, 0));
        earnings.withdrawTo(address(0), 1 ether, makeAddr("stranger"));
    }

    function test_withdraw_reentrantHostCannotDrain() public {
        ReentrantHost attacker = new ReentrantHost(earnings);
        _creditEth(address(attacker), 1 ether);
        _creditEth(host, 5 ether); // someone else's money in the contract
        attacker.withdrawAll();
        assertFalse(attacker.reentrySucceeded());
        assertEq(attacker.receivedTotal(), 1 ether);
        assertEq(address(earnings).balance, 5 ether);
        assertEq(earnings.getBalance(host, address(0)), 5 ether);
    }

    /*//////////////////////////////////////////////////////////////
                              construction
    //////////////////////////////////////////////////////////////*/

    function test_constructor_deployerIsTheOnlyCreditor() public view {
        assertEq(earnings.marketplace(), marketplace);
    }
}
