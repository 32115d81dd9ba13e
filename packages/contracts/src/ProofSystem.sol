// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IModelVerifier} from "./interfaces/IModelVerifier.sol";
import {IProofSystem} from "./interfaces/IProofSystem.sol";

/// @title ProofSystem
/// @notice Checkpoint verification beyond the marketplace's inline ECDSA fast path: ERC-1271 signers
///         and per-model verifier plug-ins; see IProofSystem.
contract ProofSystem is IProofSystem, Ownable2Step {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IProofSystem
    uint256 public constant ERC1271_GAS_LIMIT = 100_000;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IProofSystem
    mapping(bytes32 modelId => address verifier) public modelVerifiers;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param initialOwner The account that manages model verifiers.
    constructor(address initialOwner) Ownable(initialOwner) {}

    /*//////////////////////////////////////////////////////////////
                               FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IProofSystem
    function isValidReceiptSignature(address signer, bytes32 digest, bytes calldata signature)
        external
        view
        returns (bool)
    {
        // ECDSA (65 bytes, low-s only: OpenZeppelin's ECDSA rejects high-s) first, then ERC-1271.
        if (signature.length == 65) {
            (address recovered, ECDSA.RecoverError error,) = ECDSA.tryRecoverCalldata(digest, signature);
            if (error == ECDSA.RecoverError.NoError && recovered == signer) return true;
        }
        if (signer.code.length == 0) return false;
        // SignatureChecker's ERC-1271 call, with a gas cap and one word of return data copied: a
        // signer cannot burn the gas of the host's whole batch, nor grief it with a huge answer.
        bytes memory data = abi.encodeCall(IERC1271.isValidSignature, (digest, signature));
        bytes32 magic = bytes32(IERC1271.isValidSignature.selector);
        bool valid;
        assembly ("memory-safe") {
            mstore(0, 0)
            let success := staticcall(ERC1271_GAS_LIMIT, signer, add(data, 0x20), mload(data), 0, 0x20)
            valid := and(success, and(gt(returndatasize(), 31), eq(mload(0), magic)))
        }
        return valid;
    }

    /// @inheritdoc IProofSystem
    function verifyModelCheckpoint(
        uint256 jobId,
        bytes32 modelId,
        address host,
        uint256 cumulativeTokens,
        bytes32 transcriptHash
    ) external view returns (bool) {
        address verifier = modelVerifiers[modelId];
        if (verifier == address(0)) return true;
        return IModelVerifier(verifier).verifyCheckpoint(jobId, modelId, host, cumulativeTokens, transcriptHash);
    }

    /// @inheritdoc IProofSystem
    function setModelVerifier(bytes32 modelId, address verifier) external onlyOwner {
        modelVerifiers[modelId] = verifier;
        emit ModelVerifierUpdated(modelId, verifier);
    }
}
