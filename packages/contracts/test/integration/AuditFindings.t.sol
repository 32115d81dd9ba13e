// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IJobMarketplaceWithModels as IJM} from "../../src/interfaces/IJobMarketplaceWithModels.sol";
import {Base} from "../utils/Base.t.sol";
import {GasBurningTokenDepositor, HostileERC1271Wallet} from "../utils/mocks/Actors.sol";
import {FeeSwitchToken, HookedToken} from "../utils/mocks/WeirdTokens.sol";

/// @dev The outside review's PoCs (issue 10, item 3), kept as regression tests.
contract AuditFindingsTest is Base {
    /// @dev L-1: a token that starts charging a transfer fee after the deposit. HostEarnings is
    ///      credited with what arrived, so the host can withdraw all of it and nothing is owed unbacked.
    function test_feeSwitchAfterDeposit_hostEarningsStaysSolvent() public {
        FeeSwitchToken token = new FeeSwitchToken();
        _acceptAndFund(address(token), USDC_DEPOSIT);
        uint256 jobId = _openWithToken(address(token));
        _submit(jobId, depositorKey, 1000);
        token.setFeeBps(100); // 1%

        vm.prank(depositor);
        marketplace.completeSessionJob(jobId);

        uint256 hostShare = 1000 * USDC_PRICE * 9 / 10;
        uint256 credited = hostEarnings.getBalance(host, address(token));
        assertEq(credited, hostShare - hostShare / 100, "credited what arrived");
        assertGe(token.balanceOf(address(hostEarnings)), credited, "HostEarnings holds what it owes");
        vm.prank(host);
        hostEarnings.withdrawAll(address(token));
        assertEq(hostEarnings.getBalance(host, address(token)), 0);
    }

    /// @dev L-2: an ERC-777 style depositor hook burns all gas on the refund. Settlement finishes
    ///      within a normal gas limit and the refund waits in pendingRefunds.
    function test_hookedTokenDepositorCannotBlockSettlement() public {
        HookedToken token = new HookedToken();
        vm.prank(owner);
        marketplace.configureAsset(address(token), 800_000, 100, 100_000);
        GasBurningTokenDepositor burner = new GasBurningTokenDepositor();
        token.mint(address(burner), USDC_DEPOSIT);
        // Nothing proven (the contract cannot sign): the whole deposit is the refund its hook refuses.
        uint256 jobId = burner.open(marketplace, host, address(token), USDC_DEPOSIT, USDC_PRICE);

        vm.prank(host);
        marketplace.completeSessionJob{gas: 400_000}(jobId);
        assertEq(uint8(_status(jobId)), uint8(IJM.SessionStatus.Completed));
        assertEq(marketplace.pendingRefunds(address(burner), address(token)), USDC_DEPOSIT);
    }

    /// @dev L-3: a contract signer that burns all gas in isValidSignature, or revokes between the
    ///      host's simulation and the batch's inclusion, loses only its own entry.
    function test_erc1271SignerCannotSinkTheBatch() public {
        HostileERC1271Wallet burning = new HostileERC1271Wallet(depositor);
        HostileERC1271Wallet revoked = new HostileERC1271Wallet(depositor);
        uint256[] memory ids = new uint256[](3);
        ids[0] = _openEth();
        ids[1] = _openEthSignedBy(address(burning));
        ids[2] = _openEthSignedBy(address(revoked));
        bytes[] memory proofs = new bytes[](3);
        uint256[] memory counts = new uint256[](3);
        for (uint256 i; i < 3; ++i) {
            proofs[i] = _proof(depositorKey, ids[i], 1000, _transcript(ids[i], 1000));
            counts[i] = 1000;
        }
        burning.setMode(HostileERC1271Wallet.Mode.BurnGas);
        revoked.setMode(HostileERC1271Wallet.Mode.Revoked);

        vm.expectEmit(address(marketplace));
        emit IJM.ProofRejected(ids[1], address(burning));
        vm.expectEmit(address(marketplace));
        emit IJM.ProofRejected(ids[2], address(revoked));
        vm.prank(host);
        uint256 gasBefore = gasleft();
        marketplace.submitProofsBatch{gas: 1_000_000}(ids, proofs, counts);
        uint256 batchGas = gasBefore - gasleft();
        // The burning signer costs the host its cap (ERC1271_GAS_LIMIT), not the whole batch's gas.
        assertLt(batchGas, 300_000, "a signer burns at most its cap");
        assertEq(marketplace.getSession(ids[0]).provenTokens, 1000, "the honest entry landed");
        assertEq(marketplace.getSession(ids[1]).provenTokens, 0);
        assertEq(marketplace.getSession(ids[2]).provenTokens, 0);
    }

    function test_RevertWhen_submitProofOfWork_erc1271SignerBurnsGas() public {
        HostileERC1271Wallet burning = new HostileERC1271Wallet(depositor);
        uint256 jobId = _openEthSignedBy(address(burning));
        burning.setMode(HostileERC1271Wallet.Mode.BurnGas);
        bytes memory proof = _proof(depositorKey, jobId, 1000, _transcript(jobId, 1000));
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IJM.InvalidProof.selector, jobId, address(burning)));
        marketplace.submitProofOfWork{gas: 1_000_000}(jobId, proof, 1000);
    }

    function _openEthSignedBy(address signer) internal returns (uint256 jobId) {
        IJM.SessionParams memory params = _params(address(0), ETH_DEPOSIT, ETH_PRICE);
        params.signer = signer;
        params.modelId = bytes32(0);
        vm.prank(depositor);
        jobId = marketplace.createSession{value: ETH_DEPOSIT}(params);
    }
}
