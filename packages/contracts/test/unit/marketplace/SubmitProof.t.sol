// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IJobMarketplaceWithModels as IJM} from "../../../src/interfaces/IJobMarketplaceWithModels.sol";
import {Vm} from "forge-std/Vm.sol";
import {Base} from "../../utils/Base.t.sol";
import {ERC1271Wallet, ToggleModelVerifier} from "../../utils/mocks/Actors.sol";

contract SubmitProofTest is Base {
    uint256 internal jobId;

    function setUp() public override {
        super.setUp();
        jobId = _openEth();
    }

    /*//////////////////////////////////////////////////////////////
                            submitProofOfWork
    //////////////////////////////////////////////////////////////*/

    function test_submitProofOfWork_recordsCumulativeTokens() public {
        vm.warp(block.timestamp + 100);
        bytes32 transcript = _transcript(jobId, 1000);
        bytes32 proofHash = _digest(address(marketplace), jobId, 1000, transcript);
        vm.expectEmit(address(marketplace));
        emit IJM.ProofSubmitted(jobId, host, 1000, proofHash, true);
        bytes memory proof = _proof(depositorKey, jobId, 1000, transcript);
        vm.prank(host);
        assertTrue(marketplace.submitProofOfWork(jobId, proof, 1000));

        IJM.SessionInfo memory info = marketplace.getSession(jobId);
        assertEq(info.provenTokens, 1000);
        assertEq(info.lastActivity, block.timestamp);
        assertEq(marketplace.hashCheckpoint(jobId, 1000, transcript), proofHash, "contract digest matches spec");
    }

    /// @dev The seed's aggregate is not stored: anyone folds it from the ProofSubmitted events.
    function test_submitProofOfWork_aggregateHashFoldsFromEvents() public {
        vm.recordLogs();
        _submit(jobId, depositorKey, 1000);
        _submit(jobId, depositorKey, 500);
        bytes32 aggregate;
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] != IJM.ProofSubmitted.selector || uint256(logs[i].topics[1]) != jobId) continue;
            (, bytes32 proofHash,) = abi.decode(logs[i].data, (uint256, bytes32, bool));
            aggregate = keccak256(abi.encode(aggregate, proofHash));
        }
        bytes32 first = _digest(address(marketplace), jobId, 1000, _transcript(jobId, 1000));
        bytes32 second = _digest(address(marketplace), jobId, 1500, _transcript(jobId, 1500));
        assertEq(aggregate, keccak256(abi.encode(keccak256(abi.encode(bytes32(0), first)), second)));
        assertEq(marketplace.getSession(jobId).provenTokens, 1500);
    }

    function test_submitProofOfWork_upToExactlyTheDeposit() public {
        uint256 all = ETH_DEPOSIT / ETH_PRICE;
        _submit(jobId, depositorKey, all);
        assertEq(marketplace.getSession(jobId).provenTokens, all);
    }

    function test_RevertWhen_submitProofOfWork_exceedsDeposit() public {
        uint256 all = ETH_DEPOSIT / ETH_PRICE;
        bytes memory proof = _proof(depositorKey, jobId, all + 1, _transcript(jobId, all + 1));
        vm.prank(host);
        vm.expectRevert("Exceeds deposit");
        marketplace.submitProofOfWork(jobId, proof, all + 1);
    }

    function test_RevertWhen_submitProofOfWork_hugeBatchDoesNotOverflow() public {
        vm.prank(host);
        vm.expectRevert("Exceeds deposit");
        marketplace.submitProofOfWork(jobId, new bytes(97), type(uint256).max);
    }

    function test_RevertWhen_submitProofOfWork_callerNotHost() public {
        bytes memory proof = _proof(depositorKey, jobId, 1000, _transcript(jobId, 1000));
        vm.prank(depositor);
        vm.expectRevert("Only host can submit proof");
        marketplace.submitProofOfWork(jobId, proof, 1000);
    }

    function test_RevertWhen_submitProofOfWork_sessionDoesNotExist() public {
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.SessionNotActive.selector, 99, IJM.SessionStatus.None));
        marketplace.submitProofOfWork(99, new bytes(97), 1000);
    }

    function test_RevertWhen_submitProofOfWork_sessionEnded() public {
        vm.prank(depositor);
        marketplace.completeSessionJob(jobId);
        bytes memory proof = _proof(depositorKey, jobId, 1000, _transcript(jobId, 1000));
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.SessionNotActive.selector, jobId, IJM.SessionStatus.Completed));
        marketplace.submitProofOfWork(jobId, proof, 1000);
    }

    function test_RevertWhen_submitProofOfWork_zeroTokens() public {
        bytes memory proof = _proof(depositorKey, jobId, 0, _transcript(jobId, 0));
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.ZeroTokens.selector, jobId));
        marketplace.submitProofOfWork(jobId, proof, 0);
    }

    function test_RevertWhen_submitProofOfWork_proofTooShort() public {
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProofLength.selector, 32));
        marketplace.submitProofOfWork(jobId, new bytes(32), 1000);
    }

    function test_RevertWhen_submitProofOfWork_wrongCumulativeCount() public {
        // Signed for 1000 tokens in total, submitted as a batch of 999: the digest differs.
        bytes memory proof = _proof(depositorKey, jobId, 1000, _transcript(jobId, 1000));
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, jobId, depositor));
        marketplace.submitProofOfWork(jobId, proof, 999);
    }

    function test_RevertWhen_submitProofOfWork_wrongTranscript() public {
        bytes memory proof = _proof(depositorKey, jobId, 1000, _transcript(jobId, 1000));
        proof[0] = bytes1(uint8(proof[0]) ^ 1);
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, jobId, depositor));
        marketplace.submitProofOfWork(jobId, proof, 1000);
    }

    function test_submitProofOfWork_sessionKeySigns() public {
        vm.prank(depositor);
        uint256 keyed = marketplace.createSession(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE));
        assertTrue(_submit(keyed, sessionKeyPk, 1000));
    }

    function test_RevertWhen_submitProofOfWork_depositorSignsKeyedSession() public {
        vm.prank(depositor);
        uint256 keyed = marketplace.createSession(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE));
        bytes memory proof = _proof(depositorKey, keyed, 1000, _transcript(keyed, 1000));
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, keyed, sessionKey));
        marketplace.submitProofOfWork(keyed, proof, 1000);
    }

    function test_submitProofOfWork_erc1271Signer() public {
        ERC1271Wallet wallet = new ERC1271Wallet(sessionKey);
        IJM.SessionParams memory p = _params(address(usdc), USDC_DEPOSIT, USDC_PRICE);
        p.signer = address(wallet);
        vm.prank(depositor);
        uint256 keyed = marketplace.createSession(p);
        assertTrue(_submit(keyed, sessionKeyPk, 1000));
        assertEq(marketplace.getSession(keyed).provenTokens, 1000);
    }

    function test_RevertWhen_submitProofOfWork_erc1271Refuses() public {
        ERC1271Wallet wallet = new ERC1271Wallet(sessionKey);
        IJM.SessionParams memory p = _params(address(usdc), USDC_DEPOSIT, USDC_PRICE);
        p.signer = address(wallet);
        vm.prank(depositor);
        uint256 keyed = marketplace.createSession(p);
        bytes memory proof = _proof(depositorKey, keyed, 1000, _transcript(keyed, 1000));
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, keyed, address(wallet)));
        marketplace.submitProofOfWork(keyed, proof, 1000);
    }

    function test_submitProofOfWork_modelVerifierConsulted() public {
        ToggleModelVerifier verifier = new ToggleModelVerifier();
        vm.prank(owner);
        proofSystem.setModelVerifier(modelId, address(verifier));
        vm.prank(depositor);
        uint256 keyed = marketplace.createSession(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE));
        _submit(keyed, sessionKeyPk, 1000);

        verifier.setAccept(false);
        bytes memory proof = _proof(sessionKeyPk, keyed, 2000, _transcript(keyed, 2000));
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, keyed, sessionKey));
        marketplace.submitProofOfWork(keyed, proof, 1000);
    }

    function test_submitProofOfWork_verifierAddedLaterDoesNotAffectOpenSession() public {
        vm.prank(depositor);
        uint256 keyed = marketplace.createSession(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE));
        ToggleModelVerifier verifier = new ToggleModelVerifier();
        verifier.setAccept(false);
        vm.prank(owner);
        proofSystem.setModelVerifier(modelId, address(verifier));
        assertTrue(_submit(keyed, sessionKeyPk, 1000), "terms are fixed when the session opens");
    }

    /*//////////////////////////////////////////////////////////////
                            submitProofsBatch
    //////////////////////////////////////////////////////////////*/

    function _batch(uint256[] memory ids, uint256 tokens)
        internal
        view
        returns (bytes[] memory proofs, uint256[] memory counts)
    {
        proofs = new bytes[](ids.length);
        counts = new uint256[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            uint256 cumulative = marketplace.getSession(ids[i]).provenTokens + tokens;
            proofs[i] = _proof(depositorKey, ids[i], cumulative, _transcript(ids[i], cumulative));
            counts[i] = tokens;
        }
    }

    function test_submitProofsBatch_manyJobs() public {
        uint256[] memory ids = new uint256[](3);
        ids[0] = jobId;
        ids[1] = _openEth();
        ids[2] = _openUsdc();
        (bytes[] memory proofs, uint256[] memory counts) = _batch(ids, 700);
        vm.prank(host);
        marketplace.submitProofsBatch(ids, proofs, counts);
        for (uint256 i; i < 3; ++i) {
            assertEq(marketplace.getSession(ids[i]).provenTokens, 700);
        }
    }

    /// @dev Kills the mutant using tokensInBatch[0] for every entry: each entry has its own count.
    function test_submitProofsBatch_unequalTokenCounts() public {
        uint256[] memory ids = new uint256[](3);
        ids[0] = jobId;
        ids[1] = _openEth();
        ids[2] = _openUsdc();
        uint256[3] memory tokens = [uint256(700), 1300, 100];
        bytes[] memory proofs = new bytes[](3);
        uint256[] memory counts = new uint256[](3);
        for (uint256 i; i < 3; ++i) {
            proofs[i] = _proof(depositorKey, ids[i], tokens[i], _transcript(ids[i], tokens[i]));
            counts[i] = tokens[i];
        }
        vm.prank(host);
        marketplace.submitProofsBatch(ids, proofs, counts);
        for (uint256 i; i < 3; ++i) {
            assertEq(marketplace.getSession(ids[i]).provenTokens, tokens[i]);
        }
    }

    /// @dev L-3: an entry whose receipt does not verify no longer sinks the others.
    function test_submitProofsBatch_skipsAnInvalidReceipt() public {
        uint256[] memory ids = new uint256[](2);
        ids[0] = jobId;
        ids[1] = _openEth();
        (bytes[] memory proofs, uint256[] memory counts) = _batch(ids, 700);
        proofs[1] = proofs[0]; // the first job's receipt for the second job
        vm.expectEmit(address(marketplace));
        emit IJM.ProofRejected(ids[1], depositor);
        vm.prank(host);
        marketplace.submitProofsBatch(ids, proofs, counts);
        assertEq(marketplace.getSession(ids[0]).provenTokens, 700, "the valid entry landed");
        assertEq(marketplace.getSession(ids[1]).provenTokens, 0, "the invalid one changed nothing");
        assertEq(marketplace.getSession(ids[1]).lastActivity, block.timestamp);
    }

    /// @dev L-1: the depositor completes one session while the host's batch is pending.
    function test_submitProofsBatch_skipsSessionEndedBeforeTheBatch() public {
        uint256[] memory ids = new uint256[](2);
        ids[0] = jobId;
        ids[1] = _openEth();
        (bytes[] memory proofs, uint256[] memory counts) = _batch(ids, 700);
        vm.prank(depositor);
        marketplace.completeSessionJob(ids[0]); // front-runs the batch

        vm.expectEmit(address(marketplace));
        emit IJM.ProofSkipped(ids[0], IJM.SessionStatus.Completed);
        vm.expectEmit(address(marketplace));
        emit IJM.ProofSubmitted(
            ids[1], host, 700, marketplace.hashCheckpoint(ids[1], 700, _transcript(ids[1], 700)), true
        );
        vm.prank(host);
        marketplace.submitProofsBatch(ids, proofs, counts);
        assertEq(marketplace.getSession(ids[0]).provenTokens, 0, "ended session untouched");
        assertEq(uint8(_status(ids[0])), uint8(IJM.SessionStatus.Completed));
        assertEq(marketplace.getSession(ids[1]).provenTokens, 700, "the other proof landed");
    }

    function test_submitProofsBatch_skipsTimedOutSession() public {
        uint256[] memory ids = new uint256[](2);
        ids[0] = jobId;
        vm.warp(block.timestamp + DURATION);
        marketplace.triggerSessionTimeout(jobId);
        ids[1] = _openEth();
        (bytes[] memory proofs, uint256[] memory counts) = _batch(ids, 700);
        vm.expectEmit(address(marketplace));
        emit IJM.ProofSkipped(ids[0], IJM.SessionStatus.TimedOut);
        vm.prank(host);
        marketplace.submitProofsBatch(ids, proofs, counts);
        assertEq(marketplace.getSession(ids[1]).provenTokens, 700);
    }

    function test_RevertWhen_submitProofsBatch_endedSessionOfAnotherHost() public {
        uint256[] memory ids = new uint256[](1);
        ids[0] = jobId;
        (bytes[] memory proofs, uint256[] memory counts) = _batch(ids, 700);
        vm.prank(depositor);
        marketplace.completeSessionJob(jobId);
        vm.prank(stranger);
        vm.expectRevert("Only host can submit proof");
        marketplace.submitProofsBatch(ids, proofs, counts);
    }

    function test_RevertWhen_submitProofsBatch_unknownSession() public {
        uint256[] memory ids = new uint256[](2);
        ids[0] = jobId;
        ids[1] = 999;
        (bytes[] memory proofs, uint256[] memory counts) = _batch(ids, 700);
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.SessionNotActive.selector, 999, IJM.SessionStatus.None));
        marketplace.submitProofsBatch(ids, proofs, counts);
    }

    function test_submitProofsBatch_invalidProofAfterSkippedEntry() public {
        uint256[] memory ids = new uint256[](2);
        ids[0] = jobId;
        ids[1] = _openEth();
        (bytes[] memory proofs, uint256[] memory counts) = _batch(ids, 700);
        proofs[1] = proofs[0];
        vm.prank(depositor);
        marketplace.completeSessionJob(ids[0]);
        vm.expectEmit(address(marketplace));
        emit IJM.ProofSkipped(ids[0], IJM.SessionStatus.Completed);
        vm.expectEmit(address(marketplace));
        emit IJM.ProofRejected(ids[1], depositor);
        vm.prank(host);
        marketplace.submitProofsBatch(ids, proofs, counts);
        assertEq(marketplace.getSession(ids[1]).provenTokens, 0);
    }

    function test_RevertWhen_submitProofsBatch_lengthMismatch() public {
        vm.startPrank(host);
        vm.expectRevert(IJM.LengthMismatch.selector);
        marketplace.submitProofsBatch(new uint256[](2), new bytes[](1), new uint256[](2));
        vm.expectRevert(IJM.LengthMismatch.selector);
        marketplace.submitProofsBatch(new uint256[](2), new bytes[](2), new uint256[](1));
        vm.stopPrank();
    }

    function test_RevertWhen_submitProofsBatch_callerNotHost() public {
        uint256[] memory ids = new uint256[](1);
        ids[0] = jobId;
        (bytes[] memory proofs, uint256[] memory counts) = _batch(ids, 700);
        vm.prank(stranger);
        vm.expectRevert("Only host can submit proof");
        marketplace.submitProofsBatch(ids, proofs, counts);
    }
}
