// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";

/// @title ModelRegistry
/// @notice Owner-curated approved models; see IModelRegistry.
contract ModelRegistry is IModelRegistry, Ownable2Step {
    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    mapping(bytes32 modelId => Model model) private _models;

    /// @dev Approved ids; `_indexPlusOne[id]` is the id's position + 1 (0 = not listed).
    bytes32[] private _approvedIds;
    mapping(bytes32 modelId => uint256 indexPlusOne) private _indexPlusOne;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param initialOwner The curator.
    constructor(address initialOwner) Ownable(initialOwner) {}

    /*//////////////////////////////////////////////////////////////
                            OWNER FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IModelRegistry
    function addModel(string calldata repo, string calldata fileName, bytes32 sha256Hash)
        external
        onlyOwner
        returns (bytes32 modelId)
    {
        if (bytes(repo).length == 0 || bytes(fileName).length == 0) revert EmptyModelName();
        if (sha256Hash == bytes32(0)) revert ZeroModelHash();
        modelId = _modelId(repo, fileName);
        Model storage model = _models[modelId];
        if (model.approved) revert ModelAlreadyApproved(modelId);

        model.sha256Hash = sha256Hash;
        model.addedAt = uint40(block.timestamp);
        model.approved = true;
        model.repo = repo;
        model.fileName = fileName;
        _approvedIds.push(modelId);
        _indexPlusOne[modelId] = _approvedIds.length;

        emit ModelAdded(modelId, repo, fileName, sha256Hash);
    }

    /// @inheritdoc IModelRegistry
    function removeModel(bytes32 modelId) external onlyOwner {
        Model storage model = _models[modelId];
        if (!model.approved) revert ModelNotApproved(modelId);
        model.approved = false;

        uint256 index = _indexPlusOne[modelId] - 1;
        bytes32 last = _approvedIds[_approvedIds.length - 1];
        _approvedIds[index] = last;
        _indexPlusOne[last] = index + 1;
        _approvedIds.pop();
        delete _indexPlusOne[modelId];

        emit ModelRemoved(modelId);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IModelRegistry
    function isModelApproved(bytes32 modelId) external view returns (bool) {
        return _models[modelId].approved;
    }

    /// @inheritdoc IModelRegistry
    function getModel(bytes32 modelId) external view returns (Model memory) {
        Model memory model = _models[modelId];
        if (model.addedAt == 0) revert ModelNotApproved(modelId);
        return model;
    }

    /// @inheritdoc IModelRegistry
    function getModelId(string calldata repo, string calldata fileName) external pure returns (bytes32) {
        return _modelId(repo, fileName);
    }

    /// @inheritdoc IModelRegistry
    function getAllModels() external view returns (bytes32[] memory) {
        return _approvedIds;
    }

    /// @inheritdoc IModelRegistry
    function modelCount() external view returns (uint256) {
        return _approvedIds.length;
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _modelId(string calldata repo, string calldata fileName) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(repo, "/", fileName));
    }
}
