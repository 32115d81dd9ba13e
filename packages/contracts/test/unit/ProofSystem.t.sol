// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Test} from "forge-std/Test.sol";
import {ProofSystem} from "../../src/ProofSystem.sol";
import {IProofSystem} from "../../src/interfaces/IProofSystem.sol";
import {ERC1271Wallet, ToggleModelVerifier} from "../utils/mocks/Actors.sol";

contract ProofSystemTest is Test {
    /// @dev secp256k1 group order; a signature with s > n/2 is the malleable twin of one with n - s.
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    ProofSystem internal proofSystem;
    address internal owner = makeAddr("owner");
    address internal signer;
    uint256 internal signerKey;
    bytes32 internal constant DIGEST = keccak256("checkpoint");
    bytes32 internal constant MODEL = keccak256("model");

    function setUp() public {
        proofSystem = new ProofSystem(owner);
        (signer, signerKey) = makeAddrAndKey("signer");
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function test_isValidReceiptSignature_eoa() public view {
        assertTrue(proofSystem.isValidReceiptSignature(signer, DIGEST, _sign(signerKey, DIGEST)));
    }

    function test_isValidReceiptSignature_rejectsOtherSigner() public {
        (, uint256 otherKey) = makeAddrAndKey("other");
        assertFalse(proofSystem.isValidReceiptSignature(signer, DIGEST, _sign(otherKey, DIGEST)));
    }

    function test_isValidReceiptSignature_rejectsHighS() public view {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(signerKey, DIGEST);
        bytes memory malleable = abi.encodePacked(r, bytes32(N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        assertFalse(proofSystem.isValidReceiptSignature(signer, DIGEST, malleable));
    }

    function test_isValidReceiptSignature_rejectsGarbage() public view {
        assertFalse(proofSystem.isValidReceiptSignature(signer, DIGEST, new bytes(64)));
        assertFalse(proofSystem.isValidReceiptSignature(signer, DIGEST, ""));
    }

    function test_isValidReceiptSignature_erc1271() public {
        ERC1271Wallet wallet = new ERC1271Wallet(signer);
        assertTrue(proofSystem.isValidReceiptSignature(address(wallet), DIGEST, _sign(signerKey, DIGEST)));
        (, uint256 otherKey) = makeAddrAndKey("other");
        assertFalse(proofSystem.isValidReceiptSignature(address(wallet), DIGEST, _sign(otherKey, DIGEST)));
    }

    function test_verifyModelCheckpoint_trueWithoutVerifier() public view {
        assertTrue(proofSystem.verifyModelCheckpoint(1, MODEL, address(1), 100, bytes32(0)));
    }

    function test_verifyModelCheckpoint_delegatesToVerifier() public {
        ToggleModelVerifier verifier = new ToggleModelVerifier();
        vm.expectEmit(address(proofSystem));
        emit IProofSystem.ModelVerifierUpdated(MODEL, address(verifier));
        vm.prank(owner);
        proofSystem.setModelVerifier(MODEL, address(verifier));
        assertEq(proofSystem.modelVerifiers(MODEL), address(verifier));
        assertTrue(proofSystem.verifyModelCheckpoint(1, MODEL, address(1), 100, bytes32(0)));
        verifier.setAccept(false);
        assertFalse(proofSystem.verifyModelCheckpoint(1, MODEL, address(1), 100, bytes32(0)));
    }

    function test_RevertWhen_setModelVerifier_callerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        proofSystem.setModelVerifier(MODEL, address(1));
    }
}
