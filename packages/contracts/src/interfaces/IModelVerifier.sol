// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IModelVerifier
/// @notice A per-model plug-in that the ProofSystem consults for sessions of that model, in addition
///         to (never instead of) the session signer's receipt signature. A verifier can only add
///         requirements; it cannot make an unsigned checkpoint pass.
interface IModelVerifier {
    /// @notice Whether a checkpoint that already carries a valid receipt signature is also acceptable
    ///         for this model.
    /// @param jobId The session.
    /// @param modelId The session's model.
    /// @param host The session's host.
    /// @param cumulativeTokens The new proven total.
    /// @param transcriptHash The receipt's transcript hash.
    /// @return True to accept.
    function verifyCheckpoint(
        uint256 jobId,
        bytes32 modelId,
        address host,
        uint256 cumulativeTokens,
        bytes32 transcriptHash
    ) external view returns (bool);
}
