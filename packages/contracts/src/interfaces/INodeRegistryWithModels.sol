// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title INodeRegistryWithModels
/// @notice Hosts register with an API URL, the approved models they serve and their minimum prices.
///         Two minimums: the stable one (`minPricePerToken`, base units of a 6-decimal USD stablecoin
///         per token, 100..100,000 as in the seed) applies to every accepted ERC-20; the native one
///         (`minPricePerTokenNative`, wei per token) applies to ETH sessions and has its own bounds.
///         A host may also price one ERC-20 on its own (`updatePricingForAsset`, e.g. an 18-decimal
///         token) and publish the terms of its exposure: the largest checkpoint interval it accepts
///         (`updateMaxCheckpointInterval`) and a minimum deposit per asset (`updateMinDeposit`). The
///         marketplace enforces all of them when a session opens.
/// @dev Revert strings from the seed ("Host not registered") are public interface; other checks use
///      custom errors.
interface INodeRegistryWithModels {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice A host's registration.
    struct Node {
        // slot 0: everything the marketplace reads when an ETH session opens
        bool active;
        uint40 registeredAt;
        uint32 minPricePerToken; // stable, 100..100,000
        uint56 minPricePerTokenNative; // wei per token, <= MAX_PRICE_PER_TOKEN_NATIVE < 2^56
        uint24 maxCheckpointInterval; // largest interval accepted; 0 = DEFAULT_MAX_CHECKPOINT_INTERVAL
        uint96 minDepositNative; // smallest ETH deposit accepted, wei; 0 = the asset's minimum only
        // slots 1.. (dynamic)
        string metadata; // free-form JSON (hardware, region, ...)
        string apiUrl; // base URL of the host's OpenAI-compatible endpoint
        bytes32[] modelIds; // approved models served
    }

    /// @notice A host's own terms for one ERC-20 (one slot, read with the host's slot when a session opens).
    struct AssetTerms {
        uint96 minPricePerToken; // token base units per token; 0 = the stable minimum applies
        uint96 minDeposit; // smallest deposit accepted, token base units; 0 = the asset's minimum only
    }

    /// @notice What a host accepts for a new session paid in one asset (`getNodeTerms`), defaults resolved.
    struct NodeTerms {
        bool active; // registered now
        uint256 minPricePerToken; // stable minimum (the seed's `getNodePricing`)
        uint256 minPricePerTokenNative; // wei per token, for ETH sessions
        uint256 maxCheckpointInterval; // largest checkpoint interval accepted, in tokens
        uint256 minDeposit; // smallest deposit in the asset asked for, base units (0 = none of the host's own)
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice The caller is already registered.
    error NodeAlreadyRegistered(address host);
    /// @notice A stable minimum outside MIN_PRICE_PER_TOKEN..MAX_PRICE_PER_TOKEN.
    error PriceOutOfRange(uint256 price, uint256 min, uint256 max);
    /// @notice A native minimum outside MIN_PRICE_PER_TOKEN_NATIVE..MAX_PRICE_PER_TOKEN_NATIVE.
    error NativePriceOutOfRange(uint256 price, uint256 min, uint256 max);
    /// @notice The model list is empty or longer than MAX_MODELS_PER_NODE.
    error InvalidModelCount(uint256 count, uint256 max);
    /// @notice A listed model is not approved in the ModelRegistry.
    error ModelNotApproved(bytes32 modelId);
    /// @notice A model appears twice in the list.
    error DuplicateModel(bytes32 modelId);
    /// @notice The API URL is empty.
    error EmptyApiUrl();
    /// @notice A largest checkpoint interval outside MIN_CHECKPOINT_INTERVAL..MAX_CHECKPOINT_INTERVAL.
    error CheckpointIntervalOutOfRange(uint256 interval, uint256 min, uint256 max);
    /// @notice A per-asset minimum for ETH (use `updatePricingNative`) or above uint96.
    error InvalidAssetPricing(address token, uint256 price);
    /// @notice A minimum deposit above the largest deposit the marketplace takes (2^96 - 1).
    error MinDepositTooLarge(address token, uint256 minDeposit, uint256 max);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A host registered.
    event NodeRegistered(address indexed host, string apiUrl, bytes32[] modelIds, uint256 minPricePerToken);
    /// @notice A host unregistered.
    event NodeUnregistered(address indexed host);
    /// @notice A host changed its stable minimum price.
    event PricingUpdated(address indexed host, uint256 newMinPrice);
    /// @notice A host changed its native (wei) minimum price.
    event NativePricingUpdated(address indexed host, uint256 newMinPrice);
    /// @notice A host changed its metadata.
    event MetadataUpdated(address indexed host, string metadata);
    /// @notice A host changed its API URL.
    event ApiUrlUpdated(address indexed host, string apiUrl);
    /// @notice A host changed the models it serves.
    event ModelsUpdated(address indexed host, bytes32[] modelIds);
    /// @notice A host changed the largest checkpoint interval it accepts.
    event MaxCheckpointIntervalUpdated(address indexed host, uint256 maxCheckpointInterval);
    /// @notice A host set (or cleared, with 0) its own minimum for one ERC-20.
    event AssetPricingUpdated(address indexed host, address indexed token, uint256 minPricePerToken);
    /// @notice A host set (or cleared, with 0) its minimum deposit for one asset (address(0) = ETH).
    event MinDepositUpdated(address indexed host, address indexed token, uint256 minDeposit);

    /*//////////////////////////////////////////////////////////////
                           HOST FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Registers the caller as a host. The native minimum starts at
    ///         MIN_PRICE_PER_TOKEN_NATIVE; set it with `updatePricingNative`.
    /// @param metadata Free-form JSON describing the host.
    /// @param apiUrl Base URL of the host's endpoint (non-empty).
    /// @param modelIds Approved models served (1..MAX_MODELS_PER_NODE, no duplicates).
    /// @param minPricePerToken Stable minimum price per token, 100..100,000.
    function registerNode(
        string calldata metadata,
        string calldata apiUrl,
        bytes32[] calldata modelIds,
        uint256 minPricePerToken
    ) external;

    /// @notice Removes the caller's registration; open sessions continue and settle normally.
    function unregisterNode() external;

    /// @notice Sets the caller's stable minimum price per token (100..100,000).
    /// @param newMinPrice The new minimum.
    function updatePricing(uint256 newMinPrice) external;

    /// @notice Sets the caller's native minimum price in wei per token
    ///         (MIN_PRICE_PER_TOKEN_NATIVE..MAX_PRICE_PER_TOKEN_NATIVE).
    /// @param newMinPrice The new minimum in wei per token.
    function updatePricingNative(uint256 newMinPrice) external;

    /// @notice Sets the caller's minimum price for one ERC-20, in that token's base units per token,
    ///         replacing the stable minimum for it (e.g. for an 18-decimal token, where the stable
    ///         minimum would be almost free). 0 clears it: the stable minimum applies again. The
    ///         value survives `unregisterNode`; a host that registers again clears what it no longer wants.
    /// @param token An ERC-20 (not address(0)).
    /// @param minPrice The minimum (<= type(uint96).max), or 0.
    function updatePricingForAsset(address token, uint256 minPrice) external;

    /// @notice Sets the smallest deposit the caller accepts for new sessions paid in one asset, in
    ///         that asset's base units (wei for ETH), on top of the marketplace's own minimum for the
    ///         asset; a smaller deposit reverts `DepositBelowHostMinimum`. 0 clears it. The ETH one is
    ///         part of the registration (cleared by `unregisterNode`, as the native price is); an
    ///         ERC-20's survives it, as `updatePricingForAsset` does.
    /// @param token The asset (address(0) = ETH).
    /// @param minDeposit The minimum in base units (<= 2^96 - 1, the largest deposit), or 0.
    function updateMinDeposit(address token, uint256 minDeposit) external;

    /// @notice Sets the largest checkpoint interval the caller accepts for new sessions
    ///         (MIN_CHECKPOINT_INTERVAL..MAX_CHECKPOINT_INTERVAL): at most about this many tokens per
    ///         session are served before a receipt pays for them. Until set: DEFAULT_MAX_CHECKPOINT_INTERVAL.
    /// @param maxCheckpointInterval The largest interval, in tokens.
    function updateMaxCheckpointInterval(uint256 maxCheckpointInterval) external;

    /// @notice Replaces the caller's metadata.
    /// @param metadata The new metadata.
    function updateMetadata(string calldata metadata) external;

    /// @notice Replaces the caller's API URL.
    /// @param apiUrl The new URL (non-empty).
    function updateApiUrl(string calldata apiUrl) external;

    /// @notice Replaces the caller's model list (same rules as at registration).
    /// @param modelIds The new list.
    function updateSupportedModels(bytes32[] calldata modelIds) external;

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice Lowest stable minimum price a host may set: 100 (0.0001 USDC per token).
    /// @return The bound.
    function MIN_PRICE_PER_TOKEN() external view returns (uint256);

    /// @notice Highest stable minimum price a host may set: 100,000 (0.1 USDC per token).
    /// @return The bound.
    function MAX_PRICE_PER_TOKEN() external view returns (uint256);

    /// @notice Lowest native minimum a host may set, in wei per token; also the native minimum of a
    ///         host that never called `updatePricingNative`.
    /// @return The bound.
    function MIN_PRICE_PER_TOKEN_NATIVE() external view returns (uint256);

    /// @notice Highest native minimum a host may set, in wei per token.
    /// @return The bound.
    function MAX_PRICE_PER_TOKEN_NATIVE() external view returns (uint256);

    /// @notice Smallest value a host may set as its largest checkpoint interval: 100 (the marketplace's minimum).
    /// @return Tokens.
    function MIN_CHECKPOINT_INTERVAL() external view returns (uint256);

    /// @notice Largest value a host may set as its largest checkpoint interval: 1,000,000 (the marketplace's maximum).
    /// @return Tokens.
    function MAX_CHECKPOINT_INTERVAL() external view returns (uint256);

    /// @notice Largest checkpoint interval of a host that never set one: 1,000 (the seed's production value).
    /// @return Tokens.
    function DEFAULT_MAX_CHECKPOINT_INTERVAL() external view returns (uint256);

    /// @notice Most models one host may list.
    /// @return The bound.
    function MAX_MODELS_PER_NODE() external view returns (uint256);

    /// @notice The host's stable minimum price per token (the seed's pricing query); 0 if not registered.
    /// @param host The host.
    /// @return The stable minimum.
    function getNodePricing(address host) external view returns (uint256);

    /// @notice The host's minimum price per token for a payment asset: the native minimum for
    ///         `token == address(0)` (ETH); for an ERC-20 the host's own minimum for it when set, else
    ///         the stable minimum. 0 if not registered.
    /// @param host The host.
    /// @param token The payment asset (address(0) = ETH).
    /// @return The minimum in the asset's base units per token.
    function getNodePricingFor(address host, address token) external view returns (uint256);

    /// @notice The seed's 7-field view of a host.
    /// @param host The host.
    /// @return operator The host address (zero if never registered).
    /// @return registeredAt Registration timestamp.
    /// @return active Whether registered now.
    /// @return metadata Free-form JSON.
    /// @return apiUrl Endpoint URL.
    /// @return modelIds Models served.
    /// @return minPricePerToken Stable minimum price per token.
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
        );

    /// @notice The full registration record, including the native minimum and minimum ETH deposit.
    /// @param host The host.
    /// @return The record (all zero if never registered).
    function getNode(address host) external view returns (Node memory);

    /// @notice A host's terms for new sessions paid in `token`, defaults resolved: what
    ///         `getNodeFullInfo` does not carry (the seed's 7 fields stay as they are).
    /// @param host The host.
    /// @param token The payment asset whose minimum deposit to return (address(0) = ETH).
    /// @return The terms (active false and zero minimums if not registered).
    function getNodeTerms(address host, address token) external view returns (NodeTerms memory);

    /// @notice What the marketplace checks when a session opens, in one call.
    /// @param host The host.
    /// @param token The payment asset (address(0) = ETH).
    /// @param modelId The model (0 = any).
    /// @return active Whether the host is registered.
    /// @return minPricePerToken The host's minimum for `token` (as `getNodePricingFor`).
    /// @return servesModel Whether the host lists `modelId` and it is approved (true for 0).
    /// @return maxCheckpointInterval The largest checkpoint interval the host accepts.
    /// @return minDeposit The host's minimum deposit in `token` (0 = none of its own).
    function getHostTerms(address host, address token, bytes32 modelId)
        external
        view
        returns (
            bool active,
            uint256 minPricePerToken,
            bool servesModel,
            uint256 maxCheckpointInterval,
            uint256 minDeposit
        );

    /// @notice Whether the host is registered.
    /// @param host The host.
    /// @return True when registered.
    function isNodeActive(address host) external view returns (bool);

    /// @notice Whether the host is registered, lists the model, and the model is approved.
    /// @param host The host.
    /// @param modelId The model.
    /// @return True when all three hold.
    function nodeSupportsModel(address host, bytes32 modelId) external view returns (bool);

    /// @notice Registered hosts that list a model (whether or not it is still approved).
    /// @param modelId The model.
    /// @return The hosts.
    function getNodesForModel(bytes32 modelId) external view returns (address[] memory);

    /// @notice All registered hosts.
    /// @return The hosts.
    function getAllActiveNodes() external view returns (address[] memory);

    /// @notice The ModelRegistry whose approvals this registry enforces.
    /// @return The registry address.
    function modelRegistry() external view returns (address);
}
