// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IJobMarketplaceWithModels as IJM} from "../../../src/interfaces/IJobMarketplaceWithModels.sol";
import {JobMarketplaceWithModels} from "../../../src/JobMarketplaceWithModels.sol";
import {Base} from "../../utils/Base.t.sol";
import {EthRejectingDepositor} from "../../utils/mocks/Actors.sol";
import {BlocklistToken} from "../../utils/mocks/WeirdTokens.sol";

contract RefundsTreasuryAdminTest is Base {
    /*//////////////////////////////////////////////////////////////
                          withdrawRefund(To)
    //////////////////////////////////////////////////////////////*/

    function _rejectedRefund() internal returns (EthRejectingDepositor wallet, uint256 refund) {
        wallet = new EthRejectingDepositor(marketplace);
        vm.deal(address(wallet), 0);
        uint256 jobId = wallet.open{value: ETH_DEPOSIT}(host, ETH_PRICE, depositor);
        _submit(jobId, depositorKey, 1000);
        refund = ETH_DEPOSIT - 1000 * ETH_PRICE;
        vm.expectEmit(address(marketplace));
        emit IJM.RefundCredited(address(wallet), address(0), refund);
        wallet.complete(jobId);
    }

    function test_withdrawRefundTo_forDepositorThatRejectsEth() public {
        (EthRejectingDepositor wallet, uint256 refund) = _rejectedRefund();
        assertEq(marketplace.pendingRefunds(address(wallet), address(0)), refund);
        address payee = makeAddr("payee");
        vm.expectEmit(address(marketplace));
        emit IJM.RefundWithdrawn(address(wallet), address(0), payee, refund);
        wallet.withdrawRefundTo(payee);
        assertEq(payee.balance, refund);
        assertEq(marketplace.pendingRefunds(address(wallet), address(0)), 0);
    }

    function test_RevertWhen_withdrawRefund_recipientStillRejects() public {
        (EthRejectingDepositor wallet, uint256 refund) = _rejectedRefund();
        vm.expectRevert(abi.encodeWithSelector(IJM.EthTransferFailed.selector, address(wallet), refund));
        wallet.withdrawRefund();
        assertEq(marketplace.pendingRefunds(address(wallet), address(0)), refund, "still owed");
    }

    function test_withdrawRefund_tokenRefundBlockedThenWithdrawn() public {
        BlocklistToken token = new BlocklistToken();
        _acceptAndFund(address(token), USDC_DEPOSIT);
        uint256 jobId = _openWithToken(address(token));
        _submit(jobId, depositorKey, 1000);

        token.setBlocked(depositor, true);
        vm.prank(depositor);
        marketplace.completeSessionJob(jobId); // settlement is not blocked
        uint256 refund = USDC_DEPOSIT - 2_000_000;
        assertEq(marketplace.pendingRefunds(depositor, address(token)), refund);
        assertEq(hostEarnings.getBalance(host, address(token)), 1_800_000);

        token.setBlocked(depositor, false);
        vm.prank(depositor);
        marketplace.withdrawRefund(address(token));
        assertEq(token.balanceOf(depositor), refund);
    }

    /// @dev L-2: a token that refuses transfers to HostEarnings must not lock the session.
    function test_completeSessionJob_hostEarningsBlockedCreditsHostShareToPullPath() public {
        BlocklistToken token = new BlocklistToken();
        _acceptAndFund(address(token), USDC_DEPOSIT);
        uint256 jobId = _openWithToken(address(token));
        _submit(jobId, depositorKey, 1000); // payment 2,000,000: fee 200,000, host 1,800,000

        token.setBlocked(address(hostEarnings), true); // the issuer blocklists HostEarnings
        uint256 refund = USDC_DEPOSIT - 2_000_000;
        vm.expectEmit(address(marketplace));
        emit IJM.HostShareCredited(jobId, host, address(token), 1_800_000);
        vm.prank(depositor);
        marketplace.completeSessionJob(jobId);

        assertEq(uint8(_status(jobId)), uint8(IJM.SessionStatus.Completed));
        assertEq(token.balanceOf(depositor), refund, "exact refund pushed");
        assertEq(marketplace.pendingRefunds(depositor, address(token)), 0, "nothing pending for the depositor");
        assertEq(marketplace.accumulatedTreasuryTokens(address(token)), 200_000, "treasury fee accrued");
        assertEq(hostEarnings.getBalance(host, address(token)), 0, "nothing credited in HostEarnings");
        assertEq(token.balanceOf(address(hostEarnings)), 0);
        assertEq(marketplace.pendingRefunds(host, address(token)), 1_800_000, "host share on the pull path");
        assertEq(token.balanceOf(address(marketplace)), 200_000 + 1_800_000, "escrow holds fee + host share");

        vm.expectEmit(address(marketplace));
        emit IJM.RefundWithdrawn(host, address(token), host, 1_800_000);
        vm.prank(host);
        marketplace.withdrawRefund(address(token));
        assertEq(token.balanceOf(host), 1_800_000, "host withdrew its share");
        assertEq(marketplace.pendingRefunds(host, address(token)), 0);

        address[] memory tokens = new address[](1);
        tokens[0] = address(token);
        vm.prank(treasury);
        marketplace.withdrawTreasuryFees(tokens);
        assertEq(token.balanceOf(treasury), 200_000, "treasury withdrew its fee");
        assertEq(token.balanceOf(address(marketplace)), 0, "escrow emptied, no wei lost");
    }

    /// @dev L-2 on the other endings: the timeout (anyone) and the host's proof at close.
    function test_otherEndings_hostEarningsBlockedStillSettle() public {
        BlocklistToken token = new BlocklistToken();
        _acceptAndFund(address(token), 2 * USDC_DEPOSIT);
        uint256 timedOut = _openWithToken(address(token));
        uint256 closed = _openWithToken(address(token));
        _submit(timedOut, depositorKey, 1000);
        token.setBlocked(address(hostEarnings), true);

        uint256 cumulative = 500;
        bytes memory proof = _proof(depositorKey, closed, cumulative, _transcript(closed, cumulative));
        vm.prank(host);
        marketplace.submitProofAndComplete(closed, proof, cumulative);

        vm.warp(block.timestamp + DURATION);
        vm.prank(stranger);
        marketplace.triggerSessionTimeout(timedOut);

        assertEq(uint8(_status(timedOut)), uint8(IJM.SessionStatus.TimedOut));
        assertEq(uint8(_status(closed)), uint8(IJM.SessionStatus.Completed));
        assertEq(marketplace.pendingRefunds(host, address(token)), 1_800_000 + 900_000);
        assertEq(token.balanceOf(depositor), 2 * USDC_DEPOSIT - 2_000_000 - 1_000_000, "both refunds pushed");
        assertEq(marketplace.accumulatedTreasuryTokens(address(token)), 200_000 + 100_000);
    }

    function test_RevertWhen_withdrawRefund_nothingOwed() public {
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.NothingToWithdraw.selector, address(0)));
        marketplace.withdrawRefund(address(0));
    }

    function test_RevertWhen_withdrawRefundTo_zeroRecipient() public {
        vm.prank(depositor);
        vm.expectRevert(IJM.ZeroAddress.selector);
        marketplace.withdrawRefundTo(address(0), address(0));
    }

    /*//////////////////////////////////////////////////////////////
                          withdrawTreasuryFees
    //////////////////////////////////////////////////////////////*/

    function test_withdrawTreasuryFees_allAssets() public {
        _settleOneSessionPerAsset();
        address[] memory tokens = new address[](3);
        tokens[0] = address(0);
        tokens[1] = address(usdc);
        tokens[2] = address(0); // listed twice: the second pass finds nothing
        vm.expectEmit(address(marketplace));
        emit IJM.TreasuryFeesWithdrawn(treasury, address(0), 1000 * ETH_PRICE / 10);
        vm.expectEmit(address(marketplace));
        emit IJM.TreasuryFeesWithdrawn(treasury, address(usdc), 200_000);
        vm.prank(treasury);
        marketplace.withdrawTreasuryFees(tokens);
        assertEq(treasury.balance, 1000 * ETH_PRICE / 10);
        assertEq(usdc.balanceOf(treasury), 200_000);
        assertEq(marketplace.accumulatedTreasuryETH(), 0);
        assertEq(marketplace.accumulatedTreasuryTokens(address(usdc)), 0);
        assertEq(address(marketplace).balance, 0);
        assertEq(usdc.balanceOf(address(marketplace)), 0);
    }

    function test_RevertWhen_withdrawTreasuryFees_callerNotTreasury() public {
        _settleOneSessionPerAsset();
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJM.OnlyTreasury.selector, owner));
        marketplace.withdrawTreasuryFees(new address[](1));
    }

    function test_RevertWhen_withdrawTreasuryFees_treasuryRejectsEth() public {
        _settleOneSessionPerAsset();
        vm.prank(owner);
        marketplace.setTreasury(address(this)); // this test contract has no receive()
        address[] memory tokens = new address[](1);
        uint256 fee = 1000 * ETH_PRICE / 10;
        vm.expectRevert(abi.encodeWithSelector(IJM.EthTransferFailed.selector, address(this), fee));
        marketplace.withdrawTreasuryFees(tokens);
        assertEq(marketplace.accumulatedTreasuryETH(), fee, "fees stay accumulated");
    }

    /*//////////////////////////////////////////////////////////////
                                 admin
    //////////////////////////////////////////////////////////////*/

    function test_constructor_configuresEth() public view {
        IJM.AssetConfig memory eth = marketplace.getAssetConfig(address(0));
        assertTrue(eth.accepted);
        assertEq(eth.assetId, 0);
        assertEq(eth.minDeposit, 0.0002 ether);
        assertEq(eth.minPricePerToken, 1 gwei);
        assertEq(eth.maxPricePerToken, 1e15);
        assertEq(marketplace.assetTokens(0), address(0));
        assertEq(marketplace.treasury(), treasury);
        assertEq(marketplace.nodeRegistry(), address(nodeRegistry));
        assertEq(marketplace.hostEarnings(), address(hostEarnings));
        assertEq(hostEarnings.marketplace(), address(marketplace), "deployed by the marketplace");
        assertEq(marketplace.proofSystem(), address(proofSystem));
        assertEq(marketplace.owner(), owner);
    }

    function test_RevertWhen_constructor_zeroAddress() public {
        vm.expectRevert(IJM.ZeroAddress.selector);
        new JobMarketplaceWithModels(nodeRegistry, proofSystem, address(0), owner);
    }

    function test_eip712Domain_matchesSpec() public view {
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            marketplace.eip712Domain();
        assertEq(name, "SessionJobs");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifyingContract, address(marketplace));
        assertEq(marketplace.DOMAIN_SEPARATOR(), _domainSeparator(address(marketplace)));
        assertEq(marketplace.CHECKPOINT_TYPEHASH(), CHECKPOINT_TYPEHASH);
    }

    function test_constants() public view {
        assertEq(marketplace.ABANDONMENT_TIMEOUT(), 24 hours);
        assertEq(marketplace.TREASURY_FEE_BPS(), 1000);
        assertEq(marketplace.MIN_PROOF_INTERVAL(), 100);
        assertEq(marketplace.MAX_PROOF_INTERVAL(), 1_000_000);
        assertEq(marketplace.MIN_SESSION_DURATION(), 60);
        assertEq(marketplace.MAX_SESSION_DURATION(), 365 days);
    }

    function test_configureAsset_usdcAcceptedWithSeedTerms() public view {
        IJM.AssetConfig memory config = marketplace.getAssetConfig(address(usdc));
        assertTrue(config.accepted);
        assertEq(config.assetId, 1);
        assertEq(config.minDeposit, 800_000);
        assertEq(config.minPricePerToken, 100);
        assertEq(config.maxPricePerToken, 100_000);
        assertEq(marketplace.assetTokens(1), address(usdc));
        address[] memory accepted = marketplace.getAcceptedTokens();
        assertEq(accepted.length, 1);
        assertEq(accepted[0], address(usdc));
    }

    function test_configureAsset_updateKeepsId() public {
        vm.expectEmit(address(marketplace));
        emit IJM.AssetConfigured(address(usdc), 1, 1e6, 200, 90_000);
        vm.prank(owner);
        marketplace.configureAsset(address(usdc), 1e6, 200, 90_000);
        assertEq(marketplace.getAssetConfig(address(usdc)).assetId, 1);
        assertEq(marketplace.getAssetConfig(address(usdc)).minDeposit, 1e6);
    }

    function test_removeAsset_blocksNewSessionsButOpenOnesSettle() public {
        uint256 jobId = _openUsdc();
        _submit(jobId, depositorKey, 1000);
        vm.expectEmit(address(marketplace));
        emit IJM.AssetRemoved(address(usdc));
        vm.prank(owner);
        marketplace.removeAsset(address(usdc));
        assertEq(marketplace.getAcceptedTokens().length, 0);

        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.TokenNotAccepted.selector, address(usdc)));
        marketplace.createSessionJobWithToken(host, address(usdc), USDC_DEPOSIT, USDC_PRICE, DURATION, INTERVAL);

        vm.prank(depositor);
        marketplace.completeSessionJob(jobId);
        assertEq(hostEarnings.getBalance(host, address(usdc)), 1_800_000);

        vm.prank(owner);
        marketplace.configureAsset(address(usdc), 800_000, 100, 100_000);
        assertEq(marketplace.getAssetConfig(address(usdc)).assetId, 1, "re-accepted under the same id");
    }

    function test_RevertWhen_removeAsset_notAccepted() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJM.TokenNotAccepted.selector, stranger));
        marketplace.removeAsset(stranger);
    }

    function test_RevertWhen_configureAsset_invalid() public {
        vm.startPrank(owner);
        vm.expectRevert(IJM.InvalidAssetConfig.selector);
        marketplace.configureAsset(address(usdc), 1, 0, 10); // zero minimum price
        vm.expectRevert(IJM.InvalidAssetConfig.selector);
        marketplace.configureAsset(address(usdc), 1, 11, 10); // min above max
        vm.expectRevert(IJM.InvalidAssetConfig.selector);
        marketplace.configureAsset(address(usdc), 1, 1, uint256(type(uint72).max) + 1);
        vm.expectRevert(IJM.InvalidAssetConfig.selector);
        marketplace.configureAsset(address(usdc), uint256(type(uint96).max) + 1, 1, 10);
        vm.expectRevert(IJM.InvalidAssetConfig.selector);
        marketplace.configureAsset(stranger, 1, 1, 10); // not a contract
        vm.stopPrank();
    }

    function test_RevertWhen_configureAsset_tooManyAssets() public {
        vm.startPrank(owner);
        for (uint256 i = 2; i <= 255; ++i) {
            marketplace.configureAsset(address(new BlocklistToken()), 1, 1, 10);
        }
        address extra = address(new BlocklistToken());
        vm.expectRevert(IJM.TooManyAssets.selector);
        marketplace.configureAsset(extra, 1, 1, 10);
        vm.stopPrank();
    }

    function test_setTreasury_feesFollowTheNewTreasury() public {
        _settleOneSessionPerAsset();
        address next = makeAddr("nextTreasury");
        vm.expectEmit(address(marketplace));
        emit IJM.TreasuryUpdated(treasury, next);
        vm.prank(owner);
        marketplace.setTreasury(next);
        address[] memory tokens = new address[](1);
        vm.prank(next);
        marketplace.withdrawTreasuryFees(tokens);
        assertEq(next.balance, 1000 * ETH_PRICE / 10);
    }

    function test_RevertWhen_setTreasury_zero() public {
        vm.prank(owner);
        vm.expectRevert(IJM.ZeroAddress.selector);
        marketplace.setTreasury(address(0));
    }

    function test_RevertWhen_adminSetters_callerNotOwner() public {
        bytes memory unauthorized = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger);
        vm.startPrank(stranger);
        vm.expectRevert(unauthorized);
        marketplace.configureAsset(address(usdc), 1, 1, 10);
        vm.expectRevert(unauthorized);
        marketplace.removeAsset(address(usdc));
        vm.expectRevert(unauthorized);
        marketplace.setTreasury(stranger);
        vm.expectRevert(unauthorized);
        marketplace.transferOwnership(stranger);
        vm.expectRevert(unauthorized);
        proofSystem.setModelVerifier(modelId, stranger);
        vm.expectRevert(unauthorized);
        modelRegistry.addModel("a", "b", bytes32(uint256(1)));
        vm.expectRevert(unauthorized);
        modelRegistry.removeModel(modelId);
        vm.stopPrank();
    }

    function test_RevertWhen_ethSentDirectly() public {
        vm.prank(depositor);
        (bool ok,) = address(marketplace).call{value: 1 ether}("");
        assertFalse(ok, "no receive(): stray ETH is refused, so balances always match the books");
    }
}
