// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IModelRegistry
/// @notice Owner-curated list of approved models. A model is identified by
///         `keccak256(abi.encodePacked(repo, "/", fileName))` and records the sha256 of its weights,
///         so a host and a client can check they talk about the same file.
interface IModelRegistry {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice An approved (or formerly approved) model.
    struct Model {
        // slot 0
        bytes32 sha256Hash; // sha256 of the weights file
        // slot 1
        uint40 addedAt; // block timestamp of the latest approval
        bool approved; // false once removed
        // slot 2.. (dynamic)
        string repo; // e.g. "TheBloke/TinyVicuna-1B-GGUF"
        string fileName; // e.g. "tiny-vicuna-1b.q4_k_m.gguf"
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice The model is already approved.
    error ModelAlreadyApproved(bytes32 modelId);
    /// @notice The model is not approved (never added, or removed).
    error ModelNotApproved(bytes32 modelId);
    /// @notice `repo` or `fileName` is empty.
    error EmptyModelName();
    /// @notice The weights hash is zero.
    error ZeroModelHash();

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A model was approved.
    event ModelAdded(bytes32 indexed modelId, string repo, string fileName, bytes32 sha256Hash);
    /// @notice A model's approval was withdrawn.
    event ModelRemoved(bytes32 indexed modelId);

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Approves a model (owner only). A removed model may be approved again, with a new hash.
    /// @param repo The repository that publishes the weights, e.g. a Hugging Face repo id.
    /// @param fileName The weights file inside the repository.
    /// @param sha256Hash The sha256 of the weights file.
    /// @return modelId `keccak256(abi.encodePacked(repo, "/", fileName))`.
    function addModel(string calldata repo, string calldata fileName, bytes32 sha256Hash)
        external
        returns (bytes32 modelId);

    /// @notice Withdraws a model's approval (owner only). Hosts keep it in their list, but sessions
    ///         can no longer be opened for it and `nodeSupportsModel` reports false.
    /// @param modelId The model to remove.
    function removeModel(bytes32 modelId) external;

    /// @notice Whether a model is currently approved.
    /// @param modelId The model id.
    /// @return True when approved.
    function isModelApproved(bytes32 modelId) external view returns (bool);

    /// @notice A model's record (approved or not); reverts with `ModelNotApproved` if never added.
    /// @param modelId The model id.
    /// @return The model record.
    function getModel(bytes32 modelId) external view returns (Model memory);

    /// @notice The id a model would get.
    /// @param repo The repository.
    /// @param fileName The weights file.
    /// @return `keccak256(abi.encodePacked(repo, "/", fileName))`.
    function getModelId(string calldata repo, string calldata fileName) external pure returns (bytes32);

    /// @notice All currently approved model ids, in approval order (removal swaps with the last).
    /// @return The approved model ids.
    function getAllModels() external view returns (bytes32[] memory);

    /// @notice The number of currently approved models.
    /// @return The count.
    function modelCount() external view returns (uint256);
}
