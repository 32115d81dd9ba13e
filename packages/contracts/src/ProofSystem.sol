// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IModelVerifier} from "./interfaces/IModelVerifier.sol";
import {IProofSystem} from "./interfaces/IProofSystem.sol";

/// @title ProofSystem
/// @notice Checkpoint verification beyond the marketplace's inline ECDSA fast path: ERC-1271 signers
///         and per-model verifier plug-ins; see IProofSystem.
contract ProofSystem is IProofSystem, Ownable2Step {
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
        return SignatureChecker.isValidSignatureNowCalldata(signer, digest, signature);
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
