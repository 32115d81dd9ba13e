// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {JobMarketplaceWithModels} from "../../src/JobMarketplaceWithModels.sol";
import {IJobMarketplaceWithModels as IJM} from "../../src/interfaces/IJobMarketplaceWithModels.sol";
import {Base} from "../utils/Base.t.sol";
import {CostlyReceiveDepositor, EthRejectingDepositor} from "../utils/mocks/Actors.sol";
import {FeeOnTransferToken, NoReturnToken, ReentrantToken, ReturnsFalseToken} from "../utils/mocks/WeirdTokens.sol";

/// @dev The known failures of the system the seed describes, each shown impossible here.
contract SecurityTest is Base {
    uint256 internal jobId;

    function setUp() public override {
        super.setUp();
        jobId = _openEth();
    }

    /*//////////////////////////////////////////////////////////////
                          proofs are real proofs
    //////////////////////////////////////////////////////////////*/

    function test_RevertWhen_randomProofBytes() public {
        bytes memory random64 = abi.encodePacked(keccak256("a"), keccak256("b"));
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, jobId, depositor));
        marketplace.submitProofOfWork(jobId, random64, 1000);

        bytes memory random97 = abi.encodePacked(keccak256("a"), keccak256("b"), keccak256("c"), uint8(27));
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, jobId, depositor));
        marketplace.submitProofOfWork(jobId, random97, 1000);
    }

    function test_fuzz_RevertWhen_arbitraryProofBytes(bytes calldata proof, uint16 tokens) public {
        vm.assume(proof.length > 32 && tokens > 0);
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, jobId, depositor));
        marketplace.submitProofOfWork(jobId, proof, tokens);
    }

    function test_RevertWhen_receiptSignedByHost() public {
        bytes memory proof = _proof(hostKey, jobId, 1000, _transcript(jobId, 1000));
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, jobId, depositor));
        marketplace.submitProofOfWork(jobId, proof, 1000);
    }

    function test_RevertWhen_receiptReplayed() public {
        bytes memory proof = _proof(depositorKey, jobId, 1000, _transcript(jobId, 1000));
        vm.startPrank(host);
        marketplace.submitProofOfWork(jobId, proof, 1000);
        // Same receipt again: the contract now expects cumulativeTokens = 2000 for a batch of 1000.
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, jobId, depositor));
        marketplace.submitProofOfWork(jobId, proof, 1000);
        vm.stopPrank();
    }

    function test_RevertWhen_olderReceiptReplayedAfterNewer() public {
        bytes memory first = _proof(depositorKey, jobId, 1000, _transcript(jobId, 1000));
        bytes memory second = _proof(depositorKey, jobId, 3000, _transcript(jobId, 3000));
        vm.startPrank(host);
        marketplace.submitProofOfWork(jobId, second, 3000);
        vm.expectRevert(); // 1000 can never again be "provenTokens + batch" (batch > 0)
        marketplace.submitProofOfWork(jobId, first, 0);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, jobId, depositor));
        marketplace.submitProofOfWork(jobId, first, 1000);
        vm.stopPrank();
    }

    function test_RevertWhen_receiptForAnotherJob() public {
        uint256 other = _openEth();
        bytes memory proofForOther = _proof(depositorKey, other, 1000, _transcript(other, 1000));
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, jobId, depositor));
        marketplace.submitProofOfWork(jobId, proofForOther, 1000);
    }

    function test_RevertWhen_receiptForAnotherChain() public {
        uint256 originalChain = block.chainid;
        vm.chainId(originalChain + 1);
        bytes memory foreign = _proof(depositorKey, jobId, 1000, _transcript(jobId, 1000));
        vm.chainId(originalChain);
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, jobId, depositor));
        marketplace.submitProofOfWork(jobId, foreign, 1000);
    }

    function test_RevertWhen_receiptForAnotherContract() public {
        vm.prank(owner);
        JobMarketplaceWithModels twin = new JobMarketplaceWithModels(nodeRegistry, proofSystem, treasury, owner);
        vm.prank(depositor);
        uint256 twinJob = twin.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, INTERVAL);
        assertEq(twinJob, jobId, "same job id on both contracts");
        bytes memory forTwin = _proofFor(address(twin), depositorKey, jobId, 1000, _transcript(jobId, 1000));
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, jobId, depositor));
        marketplace.submitProofOfWork(jobId, forTwin, 1000);
    }

    function test_RevertWhen_highSSignature() public {
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes32 transcript = _transcript(jobId, 1000);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(depositorKey, _digest(address(marketplace), jobId, 1000, transcript));
        bytes memory twin = abi.encodePacked(transcript, r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, jobId, depositor));
        marketplace.submitProofOfWork(jobId, twin, 1000);
    }

    function test_RevertWhen_strangerSubmitsValidReceipt() public {
        bytes memory proof = _proof(depositorKey, jobId, 1000, _transcript(jobId, 1000));
        vm.prank(stranger);
        vm.expectRevert("Only host can submit proof");
        marketplace.submitProofOfWork(jobId, proof, 1000);
    }

    /*//////////////////////////////////////////////////////////////
                         refunds never get stuck
    //////////////////////////////////////////////////////////////*/

    function test_depositorRejectingEthDoesNotBlockSettlement() public {
        EthRejectingDepositor wallet = new EthRejectingDepositor(marketplace);
        uint256 walletJob = wallet.open{value: ETH_DEPOSIT}(host, ETH_PRICE, depositor);
        _submit(walletJob, depositorKey, 1000);
        vm.warp(block.timestamp + 24 hours);
        vm.prank(host);
        marketplace.claimAbandonedSession(walletJob); // the host is paid regardless
        assertEq(hostEarnings.getBalance(host, address(0)), 1000 * ETH_PRICE * 9 / 10);
        assertEq(marketplace.pendingRefunds(address(wallet), address(0)), ETH_DEPOSIT - 1000 * ETH_PRICE);
    }

    function test_depositorBurningGasCostsTheCallerBoundedGas() public {
        EthRejectingDepositor wallet = new EthRejectingDepositor(marketplace);
        wallet.setBurnGas(true);
        uint256 walletJob = wallet.open{value: ETH_DEPOSIT}(host, ETH_PRICE, depositor);
        vm.warp(block.timestamp + DURATION);
        uint256 gasBefore = gasleft();
        vm.prank(stranger);
        marketplace.triggerSessionTimeout{gas: 1_000_000}(walletJob);
        assertLt(gasBefore - gasleft(), 200_000, "the refund push forwards a bounded amount of gas");
        assertEq(marketplace.pendingRefunds(address(wallet), address(0)), ETH_DEPOSIT);
    }

    function test_noTransferStipend_smartWalletReceivesPushedRefund() public {
        CostlyReceiveDepositor wallet = new CostlyReceiveDepositor(marketplace);
        uint256 walletJob = wallet.open{value: ETH_DEPOSIT}(host, ETH_PRICE);
        wallet.complete(walletJob);
        assertEq(wallet.received(), ETH_DEPOSIT, "a receive hook above 2,300 gas still gets its refund pushed");
        assertEq(marketplace.pendingRefunds(address(wallet), address(0)), 0);
    }

    /*//////////////////////////////////////////////////////////////
                         reentrancy and weird tokens
    //////////////////////////////////////////////////////////////*/

    function test_reentrantTokenCannotReenterSettlement() public {
        ReentrantToken token = new ReentrantToken();
        _acceptAndFund(address(token), USDC_DEPOSIT);
        uint256 tokenJob = _openWithToken(address(token));
        _submit(tokenJob, depositorKey, 1000);

        // During settlement the token tries to settle the same session again.
        token.arm(address(marketplace), abi.encodeCall(IJM.completeSessionJob, (tokenJob)));
        vm.prank(depositor);
        marketplace.completeSessionJob(tokenJob);
        assertFalse(token.reentrySucceeded());
        assertEq(bytes4(token.reentryError()), ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        assertEq(token.balanceOf(address(hostEarnings)), 1_800_000, "paid once");
        assertEq(token.balanceOf(address(marketplace)), 200_000, "only the fee stays");
        assertEq(token.balanceOf(depositor), USDC_DEPOSIT - 2_000_000);
    }

    function test_reentrantTokenCannotReenterCreation() public {
        ReentrantToken token = new ReentrantToken();
        _acceptAndFund(address(token), 2 * USDC_DEPOSIT);
        token.arm(address(marketplace), abi.encodeCall(IJM.withdrawRefund, (address(token))));
        _openWithToken(address(token));
        assertFalse(token.reentrySucceeded());
        assertEq(token.balanceOf(address(marketplace)), USDC_DEPOSIT);
    }

    function test_noReturnValueTokenWorks() public {
        NoReturnToken token = new NoReturnToken();
        _acceptAndFund(address(token), USDC_DEPOSIT);
        uint256 tokenJob = _openWithToken(address(token));
        _submit(tokenJob, depositorKey, 1000);
        vm.prank(depositor);
        marketplace.completeSessionJob(tokenJob);
        assertEq(token.balanceOf(depositor), USDC_DEPOSIT - 2_000_000);
        vm.prank(host);
        hostEarnings.withdrawAll(address(token));
        assertEq(token.balanceOf(host), 1_800_000);
    }

    function test_RevertWhen_tokenReturnsFalse() public {
        ReturnsFalseToken token = new ReturnsFalseToken();
        _acceptAndFund(address(token), USDC_DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(SafeERC20.SafeERC20FailedOperation.selector, address(token)));
        _openWithToken(address(token));
    }

    function test_RevertWhen_feeOnTransferToken() public {
        FeeOnTransferToken token = new FeeOnTransferToken();
        _acceptAndFund(address(token), USDC_DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(IJM.DepositNotReceived.selector, USDC_DEPOSIT, USDC_DEPOSIT * 99 / 100));
        _openWithToken(address(token));
    }
}
