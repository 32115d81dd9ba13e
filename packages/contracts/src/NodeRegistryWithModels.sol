// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {INodeRegistryWithModels} from "./interfaces/INodeRegistryWithModels.sol";

/// @title NodeRegistryWithModels
/// @notice Host registration, pricing and model discovery; see INodeRegistryWithModels.
/// @dev No owner: hosts manage only their own entry, and model approval lives in ModelRegistry.
contract NodeRegistryWithModels is INodeRegistryWithModels {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistryWithModels
    uint256 public constant MIN_PRICE_PER_TOKEN = 100;
    /// @inheritdoc INodeRegistryWithModels
    uint256 public constant MAX_PRICE_PER_TOKEN = 100_000;
    /// @inheritdoc INodeRegistryWithModels
    /// @dev 1 gwei per token: about 30x below the stable floor at an ETH price of $3,000, leaving
    ///      room for ETH to move either way.
    uint256 public constant MIN_PRICE_PER_TOKEN_NATIVE = 1 gwei;
    /// @inheritdoc INodeRegistryWithModels
    uint256 public constant MAX_PRICE_PER_TOKEN_NATIVE = 1e15;
    /// @inheritdoc INodeRegistryWithModels
    uint256 public constant MAX_MODELS_PER_NODE = 32;
    /// @inheritdoc INodeRegistryWithModels
    uint256 public constant MIN_CHECKPOINT_INTERVAL = 100;
    /// @inheritdoc INodeRegistryWithModels
    uint256 public constant MAX_CHECKPOINT_INTERVAL = 1_000_000;
    /// @inheritdoc INodeRegistryWithModels
    uint256 public constant DEFAULT_MAX_CHECKPOINT_INTERVAL = 1000;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    IModelRegistry private immutable _modelRegistry;

    mapping(address host => Node node) private _nodes;
    mapping(address host => mapping(bytes32 modelId => bool listed)) private _listsModel;
    /// @dev A host's own terms for one ERC-20: minimum price (0 = the stable one) and minimum deposit.
    mapping(address host => mapping(address token => AssetTerms terms)) private _assetTerms;

    /// @dev Registered hosts; `_activeIndexPlusOne[host]` is the position + 1 (0 = not listed).
    address[] private _activeNodes;
    mapping(address host => uint256 indexPlusOne) private _activeIndexPlusOne;

    /// @dev Hosts per model, with the same position + 1 bookkeeping.
    mapping(bytes32 modelId => address[] hosts) private _modelHosts;
    mapping(bytes32 modelId => mapping(address host => uint256 indexPlusOne)) private _modelHostIndexPlusOne;

    /*//////////////////////////////////////////////////////////////
                               MODIFIERS
    //////////////////////////////////////////////////////////////*/

    modifier onlyRegistered() {
        require(_nodes[msg.sender].active, "Host not registered");
        _;
    }

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param modelRegistry_ The ModelRegistry whose approvals are enforced.
    constructor(IModelRegistry modelRegistry_) {
        _modelRegistry = modelRegistry_;
    }

    /*//////////////////////////////////////////////////////////////
                            HOST FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistryWithModels
    function registerNode(
        string calldata metadata,
        string calldata apiUrl,
        bytes32[] calldata modelIds,
        uint256 minPricePerToken
    ) external {
        Node storage node = _nodes[msg.sender];
        if (node.active) revert NodeAlreadyRegistered(msg.sender);
        if (bytes(apiUrl).length == 0) revert EmptyApiUrl();
        _checkStablePrice(minPricePerToken);

        node.active = true;
        node.registeredAt = uint40(block.timestamp);
        node.minPricePerToken = uint32(minPricePerToken);
        node.minPricePerTokenNative = uint56(MIN_PRICE_PER_TOKEN_NATIVE);
        node.metadata = metadata;
        node.apiUrl = apiUrl;
        _setModels(node, modelIds);

        _activeNodes.push(msg.sender);
        _activeIndexPlusOne[msg.sender] = _activeNodes.length;

        emit NodeRegistered(msg.sender, apiUrl, modelIds, minPricePerToken);
    }

    /// @inheritdoc INodeRegistryWithModels
    function unregisterNode() external onlyRegistered {
        Node storage node = _nodes[msg.sender];
        _clearModels(node);
        delete _nodes[msg.sender];

        uint256 index = _activeIndexPlusOne[msg.sender] - 1;
        address last = _activeNodes[_activeNodes.length - 1];
        _activeNodes[index] = last;
        _activeIndexPlusOne[last] = index + 1;
        _activeNodes.pop();
        delete _activeIndexPlusOne[msg.sender];

        emit NodeUnregistered(msg.sender);
    }

    /// @inheritdoc INodeRegistryWithModels
    function updatePricing(uint256 newMinPrice) external onlyRegistered {
        _checkStablePrice(newMinPrice);
        _nodes[msg.sender].minPricePerToken = uint32(newMinPrice);
        emit PricingUpdated(msg.sender, newMinPrice);
    }

    /// @inheritdoc INodeRegistryWithModels
    function updatePricingNative(uint256 newMinPrice) external onlyRegistered {
        if (newMinPrice < MIN_PRICE_PER_TOKEN_NATIVE || newMinPrice > MAX_PRICE_PER_TOKEN_NATIVE) {
            revert NativePriceOutOfRange(newMinPrice, MIN_PRICE_PER_TOKEN_NATIVE, MAX_PRICE_PER_TOKEN_NATIVE);
        }
        _nodes[msg.sender].minPricePerTokenNative = uint56(newMinPrice);
        emit NativePricingUpdated(msg.sender, newMinPrice);
    }

    /// @inheritdoc INodeRegistryWithModels
    function updatePricingForAsset(address token, uint256 minPrice) external onlyRegistered {
        if (token == address(0) || minPrice > type(uint96).max) revert InvalidAssetPricing(token, minPrice);
        _assetTerms[msg.sender][token].minPricePerToken = uint96(minPrice);
        emit AssetPricingUpdated(msg.sender, token, minPrice);
    }

    /// @inheritdoc INodeRegistryWithModels
    function updateMinDeposit(address token, uint256 minDeposit) external onlyRegistered {
        if (minDeposit > type(uint96).max) revert MinDepositTooLarge(token, minDeposit, type(uint96).max);
        if (token == address(0)) _nodes[msg.sender].minDepositNative = uint96(minDeposit);
        else _assetTerms[msg.sender][token].minDeposit = uint96(minDeposit);
        emit MinDepositUpdated(msg.sender, token, minDeposit);
    }

    /// @inheritdoc INodeRegistryWithModels
    function updateMaxCheckpointInterval(uint256 maxCheckpointInterval) external onlyRegistered {
        if (maxCheckpointInterval < MIN_CHECKPOINT_INTERVAL || maxCheckpointInterval > MAX_CHECKPOINT_INTERVAL) {
            revert CheckpointIntervalOutOfRange(maxCheckpointInterval, MIN_CHECKPOINT_INTERVAL, MAX_CHECKPOINT_INTERVAL);
        }
        _nodes[msg.sender].maxCheckpointInterval = uint24(maxCheckpointInterval);
        emit MaxCheckpointIntervalUpdated(msg.sender, maxCheckpointInterval);
    }

    /// @inheritdoc INodeRegistryWithModels
    function updateMetadata(string calldata metadata) external onlyRegistered {
        _nodes[msg.sender].metadata = metadata;
        emit MetadataUpdated(msg.sender, metadata);
    }

    /// @inheritdoc INodeRegistryWithModels
    function updateApiUrl(string calldata apiUrl) external onlyRegistered {
        if (bytes(apiUrl).length == 0) revert EmptyApiUrl();
        _nodes[msg.sender].apiUrl = apiUrl;
        emit ApiUrlUpdated(msg.sender, apiUrl);
    }

    /// @inheritdoc INodeRegistryWithModels
    function updateSupportedModels(bytes32[] calldata modelIds) external onlyRegistered {
        Node storage node = _nodes[msg.sender];
        _clearModels(node);
        _setModels(node, modelIds);
        emit ModelsUpdated(msg.sender, modelIds);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistryWithModels
    function getNodePricing(address host) external view returns (uint256) {
        return _nodes[host].minPricePerToken;
    }

    /// @inheritdoc INodeRegistryWithModels
    function getNodePricingFor(address host, address token) external view returns (uint256) {
        return _minPriceFor(_nodes[host], host, token);
    }

    /// @inheritdoc INodeRegistryWithModels
    function getNodeFullInfo(address host)
        external
        view
        returns (
            address operator,
            uint256 registeredAt,
            bool active,
            string memory metadata,
            string memory apiUrl,
            bytes32[] memory modelIds,
            uint256 minPricePerToken
        )
    {
        Node storage node = _nodes[host];
        operator = node.active ? host : address(0);
        return
            (operator, node.registeredAt, node.active, node.metadata, node.apiUrl, node.modelIds, node.minPricePerToken);
    }

    /// @inheritdoc INodeRegistryWithModels
    function getNode(address host) external view returns (Node memory) {
        return _nodes[host];
    }

    /// @inheritdoc INodeRegistryWithModels
    function getNodeTerms(address host, address token) external view returns (NodeTerms memory terms) {
        Node storage node = _nodes[host];
        terms.active = node.active;
        terms.minPricePerToken = node.minPricePerToken;
        terms.minPricePerTokenNative = node.minPricePerTokenNative;
        terms.maxCheckpointInterval = node.active ? _maxCheckpointInterval(node) : 0;
        if (node.active) {
            terms.minDeposit = token == address(0) ? node.minDepositNative : _assetTerms[host][token].minDeposit;
        }
    }

    /// @inheritdoc INodeRegistryWithModels
    function getHostTerms(address host, address token, bytes32 modelId)
        external
        view
        returns (
            bool active,
            uint256 minPricePerToken,
            bool servesModel,
            uint256 maxCheckpointInterval,
            uint256 minDeposit
        )
    {
        Node storage node = _nodes[host];
        // Slot 0 read field by field in one place: the optimizer loads it once for all of them.
        active = node.active;
        uint256 interval = node.maxCheckpointInterval;
        maxCheckpointInterval = interval != 0 ? interval : DEFAULT_MAX_CHECKPOINT_INTERVAL;
        if (token == address(0)) {
            minPricePerToken = node.minPricePerTokenNative;
            minDeposit = node.minDepositNative;
        } else {
            // One slot holds both of the host's own terms for the token.
            AssetTerms memory assetTerms = _assetTerms[host][token];
            minPricePerToken = assetTerms.minPricePerToken != 0 ? assetTerms.minPricePerToken : node.minPricePerToken;
            minDeposit = assetTerms.minDeposit;
        }
        servesModel = modelId == bytes32(0) || _servesApproved(host, modelId);
    }

    /// @inheritdoc INodeRegistryWithModels
    function isNodeActive(address host) external view returns (bool) {
        return _nodes[host].active;
    }

    /// @inheritdoc INodeRegistryWithModels
    function nodeSupportsModel(address host, bytes32 modelId) external view returns (bool) {
        return _nodes[host].active && _servesApproved(host, modelId);
    }

    /// @inheritdoc INodeRegistryWithModels
    function getNodesForModel(bytes32 modelId) external view returns (address[] memory) {
        return _modelHosts[modelId];
    }

    /// @inheritdoc INodeRegistryWithModels
    function getAllActiveNodes() external view returns (address[] memory) {
        return _activeNodes;
    }

    /// @inheritdoc INodeRegistryWithModels
    function modelRegistry() external view returns (address) {
        return address(_modelRegistry);
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _checkStablePrice(uint256 price) private pure {
        if (price < MIN_PRICE_PER_TOKEN || price > MAX_PRICE_PER_TOKEN) {
            revert PriceOutOfRange(price, MIN_PRICE_PER_TOKEN, MAX_PRICE_PER_TOKEN);
        }
    }

    /// @dev Native minimum for ETH; for an ERC-20 the host's own minimum when set, else the stable one.
    function _minPriceFor(Node storage node, address host, address token) private view returns (uint256) {
        if (token == address(0) || !node.active) return node.minPricePerTokenNative;
        uint256 assetMin = _assetTerms[host][token].minPricePerToken;
        return assetMin != 0 ? assetMin : node.minPricePerToken;
    }

    /// @dev A host that never published a largest interval accepts the seed's production value.
    function _maxCheckpointInterval(Node storage node) private view returns (uint256) {
        uint256 interval = node.maxCheckpointInterval;
        return interval != 0 ? interval : DEFAULT_MAX_CHECKPOINT_INTERVAL;
    }

    function _servesApproved(address host, bytes32 modelId) private view returns (bool) {
        return _listsModel[host][modelId] && _modelRegistry.isModelApproved(modelId);
    }

    /// @dev Lists the caller under each model; the caller's current list must be empty.
    function _setModels(Node storage node, bytes32[] calldata modelIds) private {
        uint256 count = modelIds.length;
        if (count == 0 || count > MAX_MODELS_PER_NODE) revert InvalidModelCount(count, MAX_MODELS_PER_NODE);
        for (uint256 i; i < count; ++i) {
            bytes32 modelId = modelIds[i];
            if (!_modelRegistry.isModelApproved(modelId)) revert ModelNotApproved(modelId);
            if (_listsModel[msg.sender][modelId]) revert DuplicateModel(modelId);
            _listsModel[msg.sender][modelId] = true;
            address[] storage hosts = _modelHosts[modelId];
            hosts.push(msg.sender);
            _modelHostIndexPlusOne[modelId][msg.sender] = hosts.length;
        }
        node.modelIds = modelIds;
    }

    /// @dev Removes the caller from every model it lists.
    function _clearModels(Node storage node) private {
        bytes32[] storage modelIds = node.modelIds;
        uint256 count = modelIds.length;
        for (uint256 i; i < count; ++i) {
            bytes32 modelId = modelIds[i];
            delete _listsModel[msg.sender][modelId];
            address[] storage hosts = _modelHosts[modelId];
            uint256 index = _modelHostIndexPlusOne[modelId][msg.sender] - 1;
            address last = hosts[hosts.length - 1];
            hosts[index] = last;
            _modelHostIndexPlusOne[modelId][last] = index + 1;
            hosts.pop();
            delete _modelHostIndexPlusOne[modelId][msg.sender];
        }
        delete node.modelIds;
    }
}
