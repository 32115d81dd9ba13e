// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IJobMarketplaceWithModels as IJM} from "../../../src/interfaces/IJobMarketplaceWithModels.sol";
import {TestUSDC} from "../../../src/testing/TestUSDC.sol";
import {Base} from "../../utils/Base.t.sol";
import {BonusOnTransferToken} from "../../utils/mocks/WeirdTokens.sol";
import {ToggleModelVerifier} from "../../utils/mocks/Actors.sol";

contract CreateSessionTest is Base {
    /*//////////////////////////////////////////////////////////////
                            createSessionJob
    //////////////////////////////////////////////////////////////*/

    function test_createSessionJob_storesPackedSession() public {
        vm.warp(1_700_000_000);
        vm.expectEmit(address(marketplace));
        emit IJM.SessionJobCreated(
            1, depositor, host, address(0), ETH_DEPOSIT, ETH_PRICE, DURATION, INTERVAL, bytes32(0), depositor
        );
        uint256 jobId = _openEth();

        assertEq(jobId, 1);
        assertEq(marketplace.nextJobId(), 2);
        assertEq(address(marketplace).balance, ETH_DEPOSIT);
        IJM.SessionJob memory job = marketplace.sessionJobs(jobId);
        assertEq(job.host, host);
        assertEq(job.provenTokens, 0);
        assertEq(job.lastActivity, 1_700_000_000);
        assertEq(uint8(job.status), uint8(IJM.SessionStatus.Active));
        assertEq(job.depositor, depositor);
        assertEq(job.maxTokens, ETH_DEPOSIT / ETH_PRICE);
        assertEq(job.maxDuration, DURATION);
        assertEq(job.assetId, 0);
        assertEq(job.flags, 0);
        assertEq(job.depositAmount, ETH_DEPOSIT);
        assertEq(job.pricePerToken, ETH_PRICE);
        assertEq(job.createdAt, 1_700_000_000);
        assertEq(job.checkpointInterval, INTERVAL);
        assertEq(job.sessionSigner, address(0));
        assertEq(job.modelId, bytes32(0));

        IJM.SessionInfo memory info = marketplace.getSession(jobId);
        assertEq(info.token, address(0));
        assertEq(info.signer, depositor, "the depositor signs when no session key is named");
    }

    function test_RevertWhen_createSessionJob_hostNotRegistered() public {
        vm.prank(depositor);
        vm.expectRevert("Host not registered");
        marketplace.createSessionJob{value: ETH_DEPOSIT}(stranger, ETH_PRICE, DURATION, INTERVAL);
    }

    function test_RevertWhen_createSessionJob_hostUnregistered() public {
        vm.prank(host);
        nodeRegistry.unregisterNode();
        vm.prank(depositor);
        vm.expectRevert("Host not registered");
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, INTERVAL);
    }

    function test_RevertWhen_createSessionJob_priceBelowHostNativeMinimum() public {
        vm.prank(host);
        nodeRegistry.updatePricingNative(3 gwei);
        vm.prank(depositor);
        vm.expectRevert("Price below host minimum");
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, 3 gwei - 1, DURATION, INTERVAL);
    }

    function test_createSessionJob_priceEqualToHostMinimum() public {
        vm.prank(host);
        nodeRegistry.updatePricingNative(3 gwei);
        vm.prank(depositor);
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, 3 gwei, DURATION, INTERVAL);
    }

    function test_RevertWhen_createSessionJob_priceAboveAssetMaximum() public {
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.PriceOutOfRange.selector, 1e15 + 1, 1 gwei, 1e15));
        marketplace.createSessionJob{value: 1 ether}(host, 1e15 + 1, DURATION, INTERVAL);
    }

    function test_RevertWhen_createSessionJob_intervalTooSmall() public {
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProofInterval.selector, 99, 100, 1_000_000));
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, 99);
    }

    function test_RevertWhen_createSessionJob_intervalTooLarge() public {
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProofInterval.selector, 1_000_001, 100, 1_000_000));
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, 1_000_001);
    }

    function test_createSessionJob_intervalBoundsInclusive() public {
        vm.prank(host);
        nodeRegistry.updateMaxCheckpointInterval(1_000_000);
        vm.startPrank(depositor);
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, 100);
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, 1_000_000);
        vm.stopPrank();
    }

    /// @dev Item 2 PoC: a depositor chose interval 1,000,000 and left almost two intervals unpaid.
    function test_RevertWhen_createSessionJob_intervalAboveHostMax() public {
        vm.prank(host);
        nodeRegistry.updateMaxCheckpointInterval(2000);
        vm.startPrank(depositor);
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, 2000);
        vm.expectRevert(abi.encodeWithSelector(IJM.CheckpointIntervalAboveHostMax.selector, 1_000_000, 2000));
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, 1_000_000);
        vm.expectRevert(abi.encodeWithSelector(IJM.CheckpointIntervalAboveHostMax.selector, 2001, 2000));
        marketplace.createSessionJobWithToken(host, address(usdc), USDC_DEPOSIT, USDC_PRICE, DURATION, 2001);
        vm.stopPrank();
    }

    function test_createSessionJob_hostWithoutTermsAcceptsTheSeedInterval() public {
        vm.startPrank(depositor);
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, 1000);
        vm.expectRevert(abi.encodeWithSelector(IJM.CheckpointIntervalAboveHostMax.selector, 1001, 1000));
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, 1001);
        vm.stopPrank();
    }

    /// @dev Host minimum per asset: an 18-decimal token is priced on its own, USDC keeps the stable one.
    function test_RevertWhen_createSessionJobWithToken_belowHostAssetMinimum() public {
        TestUSDC dai = new TestUSDC();
        vm.prank(owner);
        marketplace.configureAsset(address(dai), 1e18, 1e9, 1e18);
        dai.mint(depositor, 100e18);
        vm.prank(host);
        nodeRegistry.updatePricingForAsset(address(dai), 1e15);
        vm.startPrank(depositor);
        dai.approve(address(marketplace), type(uint256).max);
        vm.expectRevert("Price below host minimum");
        marketplace.createSessionJobWithToken(host, address(dai), 10e18, 1e15 - 1, DURATION, INTERVAL);
        marketplace.createSessionJobWithToken(host, address(dai), 10e18, 1e15, DURATION, INTERVAL);
        vm.expectRevert("Price below host minimum");
        marketplace.createSessionJobWithToken(host, address(usdc), USDC_DEPOSIT, HOST_MIN_PRICE - 1, DURATION, INTERVAL);
        vm.stopPrank();
        assertEq(nodeRegistry.getNodePricing(host), HOST_MIN_PRICE, "the seed's getNodePricing is the USDC one");
    }

    /// @dev The host's minimum deposit: exactly the minimum opens, one base unit less reverts.
    function test_RevertWhen_createSessionJob_depositBelowHostMinimum() public {
        vm.prank(host);
        nodeRegistry.updateMinDeposit(address(0), 0.05 ether);
        vm.startPrank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.DepositBelowHostMinimum.selector, 0.05 ether - 1, 0.05 ether));
        marketplace.createSessionJob{value: 0.05 ether - 1}(host, ETH_PRICE, DURATION, INTERVAL);
        marketplace.createSessionJob{value: 0.05 ether}(host, ETH_PRICE, DURATION, INTERVAL);
        vm.stopPrank();
    }

    function test_RevertWhen_createSessionJobWithToken_depositBelowHostMinimum() public {
        vm.prank(host);
        nodeRegistry.updateMinDeposit(address(usdc), 1e6);
        vm.startPrank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.DepositBelowHostMinimum.selector, 1e6 - 1, 1e6));
        marketplace.createSessionJobWithToken(host, address(usdc), 1e6 - 1, USDC_PRICE, DURATION, INTERVAL);
        marketplace.createSessionJobWithToken(host, address(usdc), 1e6, USDC_PRICE, DURATION, INTERVAL);
        vm.stopPrank();
    }

    /// @dev The SDK's path (session key, model) is held to the same minimum.
    function test_RevertWhen_createSession_depositBelowHostMinimum() public {
        vm.prank(host);
        nodeRegistry.updateMinDeposit(address(usdc), 1e6);
        vm.startPrank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.DepositBelowHostMinimum.selector, 1e6 - 1, 1e6));
        marketplace.createSession(_params(address(usdc), 1e6 - 1, USDC_PRICE));
        marketplace.createSession(_params(address(usdc), 1e6, USDC_PRICE));
        vm.stopPrank();
    }

    /// @dev Each asset has its own minimum: one set for ETH does not touch USDC, and back.
    function test_createSession_hostMinimumDepositPerAsset() public {
        vm.startPrank(host);
        nodeRegistry.updateMinDeposit(address(0), 0.05 ether);
        nodeRegistry.updatePricingForAsset(address(usdc), 1800);
        vm.stopPrank();
        vm.startPrank(depositor);
        marketplace.createSessionJobWithToken(host, address(usdc), 800_000, USDC_PRICE, DURATION, INTERVAL);
        vm.stopPrank();

        vm.startPrank(host);
        nodeRegistry.updateMinDeposit(address(0), 0);
        nodeRegistry.updateMinDeposit(address(usdc), 5e6);
        vm.stopPrank();
        vm.startPrank(depositor);
        marketplace.createSessionJob{value: 0.0002 ether}(host, ETH_PRICE, DURATION, INTERVAL);
        vm.expectRevert(abi.encodeWithSelector(IJM.DepositBelowHostMinimum.selector, 800_000, 5e6));
        marketplace.createSessionJobWithToken(host, address(usdc), 800_000, USDC_PRICE, DURATION, INTERVAL);
        vm.expectRevert("Price below host minimum");
        marketplace.createSessionJobWithToken(host, address(usdc), 5e6, 1799, DURATION, INTERVAL);
        vm.stopPrank();
    }

    /// @dev Below both minimums, the asset's comes first: the seed's string stays the seed's answer.
    function test_RevertWhen_createSessionJob_depositBelowAssetAndHostMinimum() public {
        vm.prank(host);
        nodeRegistry.updateMinDeposit(address(0), 0.05 ether);
        vm.prank(depositor);
        vm.expectRevert("Insufficient deposit");
        marketplace.createSessionJob{value: 0.0002 ether - 1}(host, ETH_PRICE, DURATION, INTERVAL);
    }

    function test_RevertWhen_createSessionJob_durationTooShort() public {
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidDuration.selector, 59, 60, 365 days));
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, 59, INTERVAL);
    }

    function test_RevertWhen_createSessionJob_durationTooLong() public {
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidDuration.selector, 365 days + 1, 60, 365 days));
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, 365 days + 1, INTERVAL);
    }

    function test_RevertWhen_createSessionJob_depositBelowMinimum() public {
        vm.prank(depositor);
        vm.expectRevert("Insufficient deposit");
        marketplace.createSessionJob{value: 0.0002 ether - 1}(host, ETH_PRICE, DURATION, INTERVAL);
    }

    function test_createSessionJob_minimumDepositAccepted() public {
        vm.prank(depositor);
        marketplace.createSessionJob{value: 0.0002 ether}(host, ETH_PRICE, DURATION, INTERVAL);
    }

    function test_RevertWhen_createSessionJob_depositBelowOneToken() public {
        vm.prank(depositor);
        vm.expectRevert("Insufficient deposit");
        marketplace.createSessionJob{value: 0.0002 ether}(host, 0.0002 ether + 1, DURATION, INTERVAL);
    }

    function test_RevertWhen_createSessionJob_depositorIsHost() public {
        vm.deal(host, 1 ether);
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.SignerIsHost.selector, host));
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, INTERVAL);
    }

    function test_RevertWhen_createSessionJob_ethNotAccepted() public {
        vm.prank(owner);
        marketplace.removeAsset(address(0));
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.TokenNotAccepted.selector, address(0)));
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, INTERVAL);
    }

    function test_createSessionJob_maxTokensCappedAtUint48() public {
        vm.deal(depositor, 1e30);
        vm.prank(owner);
        marketplace.configureAsset(address(0), 0.0002 ether, 1, 1e15);
        // The registry floor (1 gwei) still applies; at 1 gwei, 1e27 wei buys 1e18 tokens > 2^48.
        vm.prank(depositor);
        uint256 jobId = marketplace.createSessionJob{value: 1e27}(host, 1 gwei, DURATION, INTERVAL);
        assertEq(marketplace.sessionJobs(jobId).maxTokens, type(uint48).max);
    }

    /*//////////////////////////////////////////////////////////////
                        createSessionJobWithToken
    //////////////////////////////////////////////////////////////*/

    function test_createSessionJobWithToken_pullsDeposit() public {
        uint256 before = usdc.balanceOf(depositor);
        vm.expectEmit(address(marketplace));
        emit IJM.SessionJobCreated(
            1, depositor, host, address(usdc), USDC_DEPOSIT, USDC_PRICE, DURATION, INTERVAL, bytes32(0), depositor
        );
        uint256 jobId = _openUsdc();
        assertEq(usdc.balanceOf(address(marketplace)), USDC_DEPOSIT);
        assertEq(usdc.balanceOf(depositor), before - USDC_DEPOSIT);
        IJM.SessionJob memory job = marketplace.sessionJobs(jobId);
        assertEq(job.assetId, 1);
        assertEq(job.maxTokens, USDC_DEPOSIT / USDC_PRICE);
        assertEq(marketplace.getSession(jobId).token, address(usdc));
    }

    function test_RevertWhen_createSessionJobWithToken_priceBelowHostMinimum() public {
        vm.prank(depositor);
        vm.expectRevert("Price below host minimum");
        marketplace.createSessionJobWithToken(host, address(usdc), USDC_DEPOSIT, 1499, DURATION, INTERVAL);
    }

    function test_RevertWhen_createSessionJobWithToken_depositBelowUsdcMinimum() public {
        vm.prank(depositor);
        vm.expectRevert("Insufficient deposit");
        marketplace.createSessionJobWithToken(host, address(usdc), 799_999, USDC_PRICE, DURATION, INTERVAL);
    }

    function test_RevertWhen_createSessionJobWithToken_tokenNotAccepted() public {
        address other = makeAddr("other");
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.TokenNotAccepted.selector, other));
        marketplace.createSessionJobWithToken(host, other, USDC_DEPOSIT, USDC_PRICE, DURATION, INTERVAL);
    }

    function test_RevertWhen_createSessionJobWithToken_tokenIsEth() public {
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.TokenNotAccepted.selector, address(0)));
        marketplace.createSessionJobWithToken(host, address(0), USDC_DEPOSIT, USDC_PRICE, DURATION, INTERVAL);
    }

    function test_RevertWhen_createSessionJobWithToken_priceAboveAssetMaximum() public {
        vm.prank(owner);
        marketplace.configureAsset(address(usdc), 800_000, 100, 50_000);
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.PriceOutOfRange.selector, 50_001, 100, 50_000));
        marketplace.createSessionJobWithToken(host, address(usdc), USDC_DEPOSIT, 50_001, DURATION, INTERVAL);
    }

    function test_RevertWhen_createSessionJobWithToken_depositTooLarge() public {
        uint256 huge = uint256(type(uint96).max) + 1;
        usdc.mint(depositor, huge);
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.DepositTooLarge.selector, huge));
        marketplace.createSessionJobWithToken(host, address(usdc), huge, USDC_PRICE, DURATION, INTERVAL);
    }

    /// @dev Kills the `>` → `>=` mutant: the largest deposit the packed slot holds is accepted.
    function test_createSessionJobWithToken_depositAtUint96Max() public {
        uint256 largest = type(uint96).max;
        usdc.mint(depositor, largest);
        vm.prank(depositor);
        uint256 jobId =
            marketplace.createSessionJobWithToken(host, address(usdc), largest, USDC_PRICE, DURATION, INTERVAL);
        assertEq(marketplace.getSession(jobId).depositAmount, largest);
        assertEq(marketplace.getSession(jobId).maxTokens, type(uint48).max);
    }

    /// @dev Kills the `!=` → `<` mutant: a token that delivers more than the deposit is refused too.
    function test_RevertWhen_createSessionJobWithToken_tokenDeliversMore() public {
        BonusOnTransferToken token = new BonusOnTransferToken();
        _acceptAndFund(address(token), USDC_DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(IJM.DepositNotReceived.selector, USDC_DEPOSIT, USDC_DEPOSIT + 1));
        _openWithToken(address(token));
    }

    function test_RevertWhen_createSessionJobWithToken_noAllowance() public {
        vm.prank(depositor);
        usdc.approve(address(marketplace), 0);
        vm.prank(depositor);
        vm.expectRevert();
        marketplace.createSessionJobWithToken(host, address(usdc), USDC_DEPOSIT, USDC_PRICE, DURATION, INTERVAL);
    }

    /*//////////////////////////////////////////////////////////////
                              createSession
    //////////////////////////////////////////////////////////////*/

    function test_createSession_withSessionKeyAndModel() public {
        vm.expectEmit(address(marketplace));
        emit IJM.SessionJobCreated(
            1, depositor, host, address(usdc), USDC_DEPOSIT, USDC_PRICE, DURATION, INTERVAL, modelId, sessionKey
        );
        vm.prank(depositor);
        uint256 jobId = marketplace.createSession(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE));
        IJM.SessionJob memory job = marketplace.sessionJobs(jobId);
        assertEq(job.sessionSigner, sessionKey);
        assertEq(job.modelId, bytes32(0), "no verifier: the model lives in SessionJobCreated only");
        assertEq(job.flags, 1);
        IJM.SessionInfo memory info = marketplace.getSession(jobId);
        assertEq(info.signer, sessionKey);
        assertEq(info.depositor, depositor);
    }

    /// @dev A session key's session stores the depositor as an id: two depositors' sessions,
    ///      interleaved, each end with the refund going to its own depositor, and a depositor's
    ///      second session reuses its id.
    function test_createSession_sessionKeysKeepEachDepositor() public {
        address other = makeAddr("otherDepositor");
        address otherSessionKey = makeAddr("otherSessionKey");
        vm.deal(other, 1 ether);
        IJM.SessionParams memory p = _params(address(0), ETH_DEPOSIT, ETH_PRICE);
        IJM.SessionParams memory q = _params(address(0), ETH_DEPOSIT, ETH_PRICE);
        q.signer = otherSessionKey;

        vm.prank(depositor);
        uint256 first = marketplace.createSession{value: ETH_DEPOSIT}(p);
        vm.prank(other);
        uint256 theirs = marketplace.createSession{value: ETH_DEPOSIT}(q);
        vm.prank(depositor);
        uint256 second = marketplace.createSession{value: ETH_DEPOSIT}(p);
        // The other depositor's own plain session: its address is stored in full, no id.
        vm.prank(other);
        uint256 plain = marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, INTERVAL);

        _assertParties(first, depositor, sessionKey);
        _assertParties(theirs, other, otherSessionKey);
        _assertParties(second, depositor, sessionKey);
        assertEq(marketplace.sessionJobs(plain).depositor, other);
        assertEq(marketplace.sessionJobs(plain).sessionSigner, address(0));
        assertEq(marketplace.getSession(plain).signer, other);

        // Only the named depositor (or the host) may end it; the refund goes to that depositor.
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.NotAuthorized.selector, theirs, depositor));
        marketplace.completeSessionJob(theirs);
        vm.prank(otherSessionKey);
        vm.expectRevert(abi.encodeWithSelector(IJM.NotAuthorized.selector, theirs, otherSessionKey));
        marketplace.completeSessionJob(theirs);

        uint256 otherBefore = other.balance;
        vm.prank(other);
        marketplace.completeSessionJob(theirs);
        assertEq(other.balance, otherBefore + ETH_DEPOSIT);

        _submit(second, sessionKeyPk, 1000);
        uint256 before = depositor.balance;
        vm.prank(host);
        marketplace.completeSessionJob(second);
        assertEq(depositor.balance, before + ETH_DEPOSIT - 1000 * ETH_PRICE);

        vm.warp(block.timestamp + DURATION);
        before = depositor.balance;
        vm.prank(stranger);
        marketplace.triggerSessionTimeout(first);
        assertEq(depositor.balance, before + ETH_DEPOSIT);
    }

    /// @dev Depositor ids are a uint32: the last one still names its depositor, the next reverts.
    ///      `_depositors` is storage slot 11 (`forge inspect JobMarketplaceWithModels storageLayout`).
    function test_RevertWhen_createSession_depositorIdsExhausted() public {
        bytes32 depositorsSlot = bytes32(uint256(11));
        vm.store(address(marketplace), depositorsSlot, bytes32(uint256(type(uint32).max)));
        vm.prank(depositor);
        uint256 jobId = marketplace.createSession{value: ETH_DEPOSIT}(_params(address(0), ETH_DEPOSIT, ETH_PRICE));
        _assertParties(jobId, depositor, sessionKey);

        address late = makeAddr("lateDepositor");
        vm.deal(late, 1 ether);
        vm.prank(late);
        vm.expectRevert(IJM.TooManyDepositors.selector);
        marketplace.createSession{value: ETH_DEPOSIT}(_params(address(0), ETH_DEPOSIT, ETH_PRICE));
    }

    function _assertParties(uint256 jobId, address expectedDepositor, address expectedSigner) private view {
        IJM.SessionJob memory job = marketplace.sessionJobs(jobId);
        assertEq(job.depositor, expectedDepositor, "sessionJobs depositor");
        assertEq(job.sessionSigner, expectedSigner, "sessionJobs sessionSigner");
        assertEq(job.flags, 1);
        IJM.SessionInfo memory info = marketplace.getSession(jobId);
        assertEq(info.depositor, expectedDepositor, "getSession depositor");
        assertEq(info.signer, expectedSigner, "getSession signer");
    }

    /// @dev Every packed field comes back as given, at the bounds of each width (slot 2 holds five).
    function test_fuzz_createSession_storesTermsLosslessly(
        uint256 deposit,
        uint256 price,
        uint256 duration,
        uint256 interval,
        uint40 createdAt,
        bool withSessionKey
    ) public {
        vm.prank(host);
        nodeRegistry.updateMaxCheckpointInterval(1_000_000);
        price = bound(price, 1 gwei, 1e15);
        deposit = bound(deposit, 0.0002 ether > price ? 0.0002 ether : price, type(uint96).max);
        duration = bound(duration, 60, 365 days);
        interval = bound(interval, 100, 1_000_000);
        createdAt = uint40(bound(createdAt, 1, type(uint40).max));
        vm.deal(depositor, deposit);
        vm.warp(createdAt);
        IJM.SessionParams memory p = IJM.SessionParams({
            host: host,
            token: address(0),
            deposit: deposit,
            pricePerToken: price,
            maxDuration: duration,
            proofInterval: interval,
            modelId: modelId,
            signer: withSessionKey ? sessionKey : address(0)
        });
        vm.prank(depositor);
        uint256 jobId = marketplace.createSession{value: deposit}(p);

        IJM.SessionJob memory job = marketplace.sessionJobs(jobId);
        assertEq(job.host, host);
        assertEq(job.depositor, depositor);
        assertEq(job.sessionSigner, withSessionKey ? sessionKey : address(0));
        assertEq(job.depositAmount, deposit);
        assertEq(job.pricePerToken, price);
        uint256 maxTokens = deposit / price;
        assertEq(job.maxTokens, maxTokens > type(uint48).max ? type(uint48).max : maxTokens);
        assertEq(job.createdAt, createdAt);
        assertEq(job.lastActivity, createdAt);
        assertEq(job.maxDuration, duration);
        assertEq(job.checkpointInterval, interval);
        assertEq(job.assetId, 0);
        assertEq(job.flags, withSessionKey ? 1 : 0);
        assertEq(uint8(job.status), uint8(IJM.SessionStatus.Active));
    }

    function test_createSession_usdcRecordsAssetAndDepositor() public {
        vm.prank(depositor);
        uint256 jobId = marketplace.createSession(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE));
        IJM.SessionJob memory job = marketplace.sessionJobs(jobId);
        assertEq(job.assetId, 1);
        assertEq(job.depositor, depositor);
        assertEq(marketplace.getSession(jobId).token, address(usdc));
        assertEq(job.maxDuration, DURATION);
        assertEq(job.checkpointInterval, INTERVAL);
    }

    function test_createSession_eth() public {
        vm.prank(depositor);
        uint256 jobId = marketplace.createSession{value: ETH_DEPOSIT}(_params(address(0), ETH_DEPOSIT, ETH_PRICE));
        assertEq(marketplace.getSession(jobId).depositAmount, ETH_DEPOSIT);
        assertEq(address(marketplace).balance, ETH_DEPOSIT);
    }

    function test_createSession_zeroSignerMeansCaller() public {
        IJM.SessionParams memory p = _params(address(0), ETH_DEPOSIT, ETH_PRICE);
        p.signer = address(0);
        vm.prank(depositor);
        uint256 jobId = marketplace.createSession{value: ETH_DEPOSIT}(p);
        assertEq(marketplace.sessionJobs(jobId).flags, 0);
        assertEq(marketplace.getSession(jobId).signer, depositor);
    }

    function test_createSession_modelWithVerifierSetsFlag() public {
        ToggleModelVerifier verifier = new ToggleModelVerifier();
        vm.prank(owner);
        proofSystem.setModelVerifier(modelId, address(verifier));
        vm.prank(depositor);
        uint256 jobId = marketplace.createSession(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE));
        assertEq(marketplace.sessionJobs(jobId).flags, 3);
    }

    function test_RevertWhen_createSession_ethValueMismatch() public {
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.ValueMismatch.selector, ETH_DEPOSIT - 1, ETH_DEPOSIT));
        marketplace.createSession{value: ETH_DEPOSIT - 1}(_params(address(0), ETH_DEPOSIT, ETH_PRICE));
    }

    function test_RevertWhen_createSession_ethSentWithToken() public {
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.ValueMismatch.selector, 1, 0));
        marketplace.createSession{value: 1}(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE));
    }

    function test_RevertWhen_createSession_modelNotServed() public {
        IJM.SessionParams memory p = _params(address(usdc), USDC_DEPOSIT, USDC_PRICE);
        p.modelId = keccak256("not served");
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.ModelNotServed.selector, host, p.modelId));
        marketplace.createSession(p);
    }

    function test_RevertWhen_createSession_modelRemovedFromRegistry() public {
        vm.prank(owner);
        modelRegistry.removeModel(modelId);
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.ModelNotServed.selector, host, modelId));
        marketplace.createSession(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE));
    }

    function test_RevertWhen_createSession_signerIsHost() public {
        IJM.SessionParams memory p = _params(address(usdc), USDC_DEPOSIT, USDC_PRICE);
        p.signer = host;
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.SignerIsHost.selector, host));
        marketplace.createSession(p);
    }

    /*//////////////////////////////////////////////////////////////
                         createSessionWithPermit
    //////////////////////////////////////////////////////////////*/

    function _permitSignature(address spender, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                depositor,
                spender,
                value,
                usdc.nonces(depositor),
                deadline
            )
        );
        return vm.sign(depositorKey, keccak256(abi.encodePacked("\x19\x01", usdc.DOMAIN_SEPARATOR(), structHash)));
    }

    function test_createSessionWithPermit_oneTransaction() public {
        vm.prank(depositor);
        usdc.approve(address(marketplace), 0);
        (uint8 v, bytes32 r, bytes32 s) = _permitSignature(address(marketplace), USDC_DEPOSIT, block.timestamp);
        vm.prank(depositor);
        uint256 jobId = marketplace.createSessionWithPermit(
            _params(address(usdc), USDC_DEPOSIT, USDC_PRICE), block.timestamp, v, r, s
        );
        assertEq(usdc.balanceOf(address(marketplace)), USDC_DEPOSIT);
        assertEq(usdc.allowance(depositor, address(marketplace)), 0);
        assertEq(marketplace.getSession(jobId).depositAmount, USDC_DEPOSIT);
    }

    function test_createSessionWithPermit_toleratesFrontRunPermit() public {
        vm.prank(depositor);
        usdc.approve(address(marketplace), 0);
        (uint8 v, bytes32 r, bytes32 s) = _permitSignature(address(marketplace), USDC_DEPOSIT, block.timestamp);
        // Someone copies the permit from the mempool and submits it first.
        vm.prank(stranger);
        usdc.permit(depositor, address(marketplace), USDC_DEPOSIT, block.timestamp, v, r, s);
        vm.prank(depositor);
        marketplace.createSessionWithPermit(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE), block.timestamp, v, r, s);
        assertEq(usdc.balanceOf(address(marketplace)), USDC_DEPOSIT);
    }

    function test_RevertWhen_createSessionWithPermit_badPermitAndNoAllowance() public {
        vm.prank(depositor);
        usdc.approve(address(marketplace), 0);
        (uint8 v, bytes32 r, bytes32 s) = _permitSignature(address(marketplace), USDC_DEPOSIT - 1, block.timestamp);
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.PermitFailed.selector, address(usdc), 0, USDC_DEPOSIT));
        marketplace.createSessionWithPermit(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE), block.timestamp, v, r, s);
    }

    function test_RevertWhen_createSessionWithPermit_eth() public {
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IJM.TokenNotAccepted.selector, address(0)));
        marketplace.createSessionWithPermit(_params(address(0), ETH_DEPOSIT, ETH_PRICE), 0, 0, 0, 0);
    }

    function test_RevertWhen_createSessionWithPermit_hostNotRegistered() public {
        IJM.SessionParams memory p = _params(address(usdc), USDC_DEPOSIT, USDC_PRICE);
        p.host = stranger;
        vm.prank(depositor);
        vm.expectRevert("Host not registered");
        marketplace.createSessionWithPermit(p, 0, 0, 0, 0);
    }
}
