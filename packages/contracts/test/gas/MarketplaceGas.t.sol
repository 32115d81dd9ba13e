// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IJobMarketplaceWithModels} from "../../src/interfaces/IJobMarketplaceWithModels.sol";
import {Base} from "../utils/Base.t.sol";

/// @dev Committed gas snapshots (snapshots/MarketplaceGas.json) of the marketplace's hot paths,
///      execution gas of the call only (no 21,000 intrinsic or calldata; scripts/gasBenchmark.ts
///      reports full transaction gas on anvil). `npm test` fails if they change: re-run
///      `npm run snapshot` and commit the diff when a change is intended. Runs only in the `gas`
///      profile (isolated calls), so that the numbers are per transaction with cold storage.
///      Every measurement is in steady state: the treasury, host balance and a previous session
///      already exist, as on a live deployment.
contract MarketplaceGasTest is Base {
    function setUp() public override {
        // Only meaningful with per-call transactions (isolate = true in the gas profile).
        vm.skip(keccak256(bytes(vm.envOr("FOUNDRY_PROFILE", string("")))) != keccak256("gas"));
        super.setUp();
        // Warm the per-asset accumulators (treasury, host earnings) the way any live deployment is.
        _settleOneSessionPerAsset();
    }

    function test_gas_createSessionJob_eth() public {
        vm.prank(depositor);
        marketplace.createSessionJob{value: ETH_DEPOSIT}(host, ETH_PRICE, DURATION, INTERVAL);
        vm.snapshotGasLastCall("createSessionJob (ETH)");
    }

    function test_gas_createSessionJobWithToken_usdc() public {
        vm.prank(depositor);
        marketplace.createSessionJobWithToken(host, address(usdc), USDC_DEPOSIT, USDC_PRICE, DURATION, INTERVAL);
        vm.snapshotGasLastCall("createSessionJobWithToken (USDC)");
    }

    /// @dev The depositor's first session with a session key also assigns its depositor id.
    function test_gas_createSession_usdcWithSessionKeyAndModel_firstOfDepositor() public {
        vm.prank(depositor);
        marketplace.createSession(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE));
        vm.snapshotGasLastCall("createSession (USDC, session key, model, depositor's first)");
    }

    function test_gas_createSession_usdcWithSessionKeyAndModel() public {
        vm.startPrank(depositor);
        marketplace.createSession(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE));
        marketplace.createSession(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE));
        vm.stopPrank();
        vm.snapshotGasLastCall("createSession (USDC, session key, model)");
    }

    function test_gas_createSession_ethWithSessionKeyAndModel() public {
        vm.startPrank(depositor);
        marketplace.createSession{value: ETH_DEPOSIT}(_params(address(0), ETH_DEPOSIT, ETH_PRICE));
        marketplace.createSession{value: ETH_DEPOSIT}(_params(address(0), ETH_DEPOSIT, ETH_PRICE));
        vm.stopPrank();
        vm.snapshotGasLastCall("createSession (ETH, session key, model)");
    }

    function test_gas_submitProofOfWork_first() public {
        uint256 jobId = _openEth();
        bytes memory proof = _proof(depositorKey, jobId, 1000, _transcript(jobId, 1000));
        vm.prank(host);
        marketplace.submitProofOfWork(jobId, proof, 1000);
        vm.snapshotGasLastCall("submitProofOfWork (first)");
    }

    function test_gas_submitProofOfWork_next() public {
        uint256 jobId = _openEth();
        _submit(jobId, depositorKey, 1000);
        bytes memory proof = _proof(depositorKey, jobId, 2000, _transcript(jobId, 2000));
        vm.prank(host);
        marketplace.submitProofOfWork(jobId, proof, 1000);
        vm.snapshotGasLastCall("submitProofOfWork (next)");
    }

    function test_gas_submitProofOfWork_sessionKey() public {
        vm.prank(depositor);
        uint256 jobId = marketplace.createSession(_params(address(usdc), USDC_DEPOSIT, USDC_PRICE));
        _submit(jobId, sessionKeyPk, 1000);
        bytes memory proof = _proof(sessionKeyPk, jobId, 2000, _transcript(jobId, 2000));
        vm.prank(host);
        marketplace.submitProofOfWork(jobId, proof, 1000);
        vm.snapshotGasLastCall("submitProofOfWork (next, session key)");
    }

    function test_gas_submitProofsBatch_tenJobs() public {
        uint256[] memory jobIds = new uint256[](10);
        bytes[] memory proofs = new bytes[](10);
        uint256[] memory tokens = new uint256[](10);
        for (uint256 i; i < 10; ++i) {
            jobIds[i] = _openEth();
            _submit(jobIds[i], depositorKey, 1000);
            proofs[i] = _proof(depositorKey, jobIds[i], 2000, _transcript(jobIds[i], 2000));
            tokens[i] = 1000;
        }
        vm.prank(host);
        marketplace.submitProofsBatch(jobIds, proofs, tokens);
        vm.snapshotGasLastCall("submitProofsBatch (10 jobs, next)");
    }

    function test_gas_completeSessionJob_eth() public {
        uint256 jobId = _openEth();
        _submit(jobId, depositorKey, 1000);
        vm.prank(depositor);
        marketplace.completeSessionJob(jobId);
        vm.snapshotGasLastCall("completeSessionJob (ETH)");
    }

    function test_gas_completeSessionJob_usdc() public {
        uint256 jobId = _openUsdc();
        _submit(jobId, depositorKey, 1000);
        vm.prank(depositor);
        marketplace.completeSessionJob(jobId);
        vm.snapshotGasLastCall("completeSessionJob (USDC)");
    }

    function test_gas_submitProofAndComplete_eth() public {
        uint256 jobId = _openEth();
        bytes memory proof = _proof(depositorKey, jobId, 2500, _transcript(jobId, 2500));
        vm.prank(host);
        marketplace.submitProofAndComplete(jobId, proof, 2500);
        vm.snapshotGasLastCall("submitProofAndComplete (ETH, only proof)");
    }

    /// @dev The host and the treasury withdrew everything: balances hold 1, never 0, so the next
    ///      settlement costs what any other does.
    function test_gas_completeSessionJob_ethAfterWithdrawals() public {
        uint256 jobId = _openEth();
        _submit(jobId, depositorKey, 1000);
        vm.prank(host);
        hostEarnings.withdrawAll(address(0));
        address[] memory tokens = new address[](1);
        vm.prank(treasury);
        marketplace.withdrawTreasuryFees(tokens);
        vm.prank(depositor);
        marketplace.completeSessionJob(jobId);
        vm.snapshotGasLastCall("completeSessionJob (ETH, after withdrawals)");
    }

    function test_gas_triggerSessionTimeout_eth() public {
        uint256 jobId = _openEth();
        _submit(jobId, depositorKey, 1000);
        vm.warp(block.timestamp + DURATION);
        vm.prank(stranger);
        marketplace.triggerSessionTimeout(jobId);
        vm.snapshotGasLastCall("triggerSessionTimeout (ETH)");
        assertEq(uint8(_status(jobId)), uint8(IJobMarketplaceWithModels.SessionStatus.TimedOut));
    }
}
