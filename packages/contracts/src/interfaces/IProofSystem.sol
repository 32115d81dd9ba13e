// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IProofSystem
/// @notice Owns checkpoint verification. A checkpoint proof is an EIP-712 `Checkpoint` receipt signed
///         by the session signer (see docs/design.md). The marketplace verifies plain 65-byte ECDSA
///         receipts inline for gas and calls here for everything else: ERC-1271 contract signers, and
///         the per-model verifier plug-ins registered by the owner.
interface IProofSystem {
    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The owner set (or cleared, with address(0)) a model's verifier.
    event ModelVerifierUpdated(bytes32 indexed modelId, address indexed verifier);

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Gas given to an ERC-1271 signer's `isValidSignature`; a signer that needs more is refused.
    /// @return Gas.
    function ERC1271_GAS_LIMIT() external view returns (uint256);

    /// @notice Whether `signature` is `signer`'s signature of `digest`: a 65-byte low-s ECDSA
    ///         signature by an EOA, or any signature the contract `signer` accepts through ERC-1271
    ///         within ERC1271_GAS_LIMIT gas (a revert, a wrong answer or running out is `false`).
    /// @param signer The session signer.
    /// @param digest The EIP-712 digest of the checkpoint.
    /// @param signature The signature bytes.
    /// @return True when valid.
    function isValidReceiptSignature(address signer, bytes32 digest, bytes calldata signature)
        external
        view
        returns (bool);

    /// @notice Whether the model's verifier (if any) accepts the checkpoint; true when none is set.
    /// @param jobId The session.
    /// @param modelId The session's model.
    /// @param host The session's host.
    /// @param cumulativeTokens The new proven total.
    /// @param transcriptHash The receipt's transcript hash.
    /// @return True to accept.
    function verifyModelCheckpoint(
        uint256 jobId,
        bytes32 modelId,
        address host,
        uint256 cumulativeTokens,
        bytes32 transcriptHash
    ) external view returns (bool);

    /// @notice Sets or clears (address(0)) the verifier plug-in of a model (owner only). Sessions
    ///         snapshot whether their model has a verifier when they open.
    /// @param modelId The model.
    /// @param verifier An IModelVerifier, or address(0).
    function setModelVerifier(bytes32 modelId, address verifier) external;

    /// @notice The verifier plug-in of a model (address(0) when none).
    /// @param modelId The model.
    /// @return The verifier.
    function modelVerifiers(bytes32 modelId) external view returns (address);
}
