// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {INodeRegistryWithModels} from "../../src/interfaces/INodeRegistryWithModels.sol";
import {Base} from "../utils/Base.t.sol";

contract NodeRegistryWithModelsTest is Base {
    address internal host2 = makeAddr("host2");
    bytes32 internal model2;

    function setUp() public override {
        super.setUp();
        bytes32 weightsHash = sha256("other"); // before the prank: sha256 is a precompile call
        vm.prank(owner);
        model2 = modelRegistry.addModel("org/other", "other.gguf", weightsHash);
    }

    function _models(bytes32 a) internal pure returns (bytes32[] memory m) {
        m = new bytes32[](1);
        m[0] = a;
    }

    function _models(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory m) {
        m = new bytes32[](2);
        m[0] = a;
        m[1] = b;
    }

    /*//////////////////////////////////////////////////////////////
                              registerNode
    //////////////////////////////////////////////////////////////*/

    function test_registerNode_storesEverything() public {
        vm.expectEmit(address(nodeRegistry));
        emit INodeRegistryWithModels.NodeRegistered(host2, "https://h2", _models(modelId, model2), 2000);
        vm.prank(host2);
        nodeRegistry.registerNode("{}", "https://h2", _models(modelId, model2), 2000);

        (
            address operator,
            uint256 registeredAt,
            bool active,
            string memory metadata,
            string memory apiUrl,
            bytes32[] memory ids,
            uint256 minPrice
        ) = nodeRegistry.getNodeFullInfo(host2);
        assertEq(operator, host2);
        assertEq(registeredAt, block.timestamp);
        assertTrue(active);
        assertEq(metadata, "{}");
        assertEq(apiUrl, "https://h2");
        assertEq(ids.length, 2);
        assertEq(minPrice, 2000);
        assertEq(nodeRegistry.getNodePricing(host2), 2000);
        assertEq(nodeRegistry.getNodePricingFor(host2, address(usdc)), 2000);
        assertEq(nodeRegistry.getNodePricingFor(host2, address(0)), nodeRegistry.MIN_PRICE_PER_TOKEN_NATIVE());
        assertTrue(nodeRegistry.isNodeActive(host2));
        assertTrue(nodeRegistry.nodeSupportsModel(host2, modelId));
        assertTrue(nodeRegistry.nodeSupportsModel(host2, model2));
        assertEq(nodeRegistry.getNodesForModel(model2).length, 1);
        assertEq(nodeRegistry.getAllActiveNodes().length, 2);
        assertEq(nodeRegistry.getNode(host2).minPricePerTokenNative, 1 gwei);
    }

    function test_registerNode_priceBoundsInclusive() public {
        vm.prank(host2);
        nodeRegistry.registerNode("", "u", _models(modelId), 100);
        address host3 = makeAddr("host3");
        vm.prank(host3);
        nodeRegistry.registerNode("", "u", _models(modelId), 100_000);
        assertEq(nodeRegistry.getNodePricing(host3), 100_000);
    }

    function test_RevertWhen_registerNode_priceBelowRange() public {
        vm.prank(host2);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistryWithModels.PriceOutOfRange.selector, 99, 100, 100_000));
        nodeRegistry.registerNode("", "u", _models(modelId), 99);
    }

    function test_RevertWhen_registerNode_priceAboveRange() public {
        vm.prank(host2);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistryWithModels.PriceOutOfRange.selector, 100_001, 100, 100_000));
        nodeRegistry.registerNode("", "u", _models(modelId), 100_001);
    }

    function test_RevertWhen_registerNode_alreadyRegistered() public {
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistryWithModels.NodeAlreadyRegistered.selector, host));
        nodeRegistry.registerNode("", "u", _models(modelId), 1000);
    }

    function test_RevertWhen_registerNode_emptyApiUrl() public {
        vm.prank(host2);
        vm.expectRevert(INodeRegistryWithModels.EmptyApiUrl.selector);
        nodeRegistry.registerNode("", "", _models(modelId), 1000);
    }

    function test_RevertWhen_registerNode_noModels() public {
        vm.prank(host2);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistryWithModels.InvalidModelCount.selector, 0, 32));
        nodeRegistry.registerNode("", "u", new bytes32[](0), 1000);
    }

    function test_RevertWhen_registerNode_tooManyModels() public {
        vm.prank(host2);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistryWithModels.InvalidModelCount.selector, 33, 32));
        nodeRegistry.registerNode("", "u", new bytes32[](33), 1000);
    }

    function test_RevertWhen_registerNode_modelNotApproved() public {
        bytes32 unknown = keccak256("unknown");
        vm.prank(host2);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistryWithModels.ModelNotApproved.selector, unknown));
        nodeRegistry.registerNode("", "u", _models(unknown), 1000);
    }

    function test_RevertWhen_registerNode_duplicateModel() public {
        vm.prank(host2);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistryWithModels.DuplicateModel.selector, modelId));
        nodeRegistry.registerNode("", "u", _models(modelId, modelId), 1000);
    }

    /*//////////////////////////////////////////////////////////////
                             unregisterNode
    //////////////////////////////////////////////////////////////*/

    function test_unregisterNode_removesFromAllLists() public {
        vm.prank(host2);
        nodeRegistry.registerNode("", "u", _models(modelId, model2), 1000);
        vm.expectEmit(address(nodeRegistry));
        emit INodeRegistryWithModels.NodeUnregistered(host);
        vm.prank(host);
        nodeRegistry.unregisterNode();

        assertFalse(nodeRegistry.isNodeActive(host));
        assertFalse(nodeRegistry.nodeSupportsModel(host, modelId));
        assertEq(nodeRegistry.getNodePricing(host), 0);
        address[] memory forModel = nodeRegistry.getNodesForModel(modelId);
        assertEq(forModel.length, 1);
        assertEq(forModel[0], host2);
        address[] memory all = nodeRegistry.getAllActiveNodes();
        assertEq(all.length, 1);
        assertEq(all[0], host2);
        (address operator,, bool active,,,,) = nodeRegistry.getNodeFullInfo(host);
        assertEq(operator, address(0));
        assertFalse(active);
    }

    function test_unregisterNode_thenRegisterAgain() public {
        vm.prank(host);
        nodeRegistry.unregisterNode();
        _registerHost(host, 3000);
        assertEq(nodeRegistry.getNodePricing(host), 3000);
        assertEq(nodeRegistry.getNodesForModel(modelId).length, 1);
    }

    function test_RevertWhen_unregisterNode_notRegistered() public {
        vm.prank(host2);
        vm.expectRevert("Host not registered");
        nodeRegistry.unregisterNode();
    }

    /*//////////////////////////////////////////////////////////////
                                pricing
    //////////////////////////////////////////////////////////////*/

    function test_updatePricing_setsStableMinimum() public {
        vm.expectEmit(address(nodeRegistry));
        emit INodeRegistryWithModels.PricingUpdated(host, 3000);
        vm.prank(host);
        nodeRegistry.updatePricing(3000);
        assertEq(nodeRegistry.getNodePricing(host), 3000);
        (,,,,,, uint256 seventh) = nodeRegistry.getNodeFullInfo(host);
        assertEq(seventh, 3000);
    }

    function test_RevertWhen_updatePricing_outOfRange() public {
        vm.startPrank(host);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistryWithModels.PriceOutOfRange.selector, 99, 100, 100_000));
        nodeRegistry.updatePricing(99);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistryWithModels.PriceOutOfRange.selector, 100_001, 100, 100_000));
        nodeRegistry.updatePricing(100_001);
        vm.stopPrank();
    }

    function test_RevertWhen_updatePricing_notRegistered() public {
        vm.prank(host2);
        vm.expectRevert("Host not registered");
        nodeRegistry.updatePricing(1000);
    }

    function test_updatePricingNative_setsNativeMinimum() public {
        vm.expectEmit(address(nodeRegistry));
        emit INodeRegistryWithModels.NativePricingUpdated(host, 5 gwei);
        vm.prank(host);
        nodeRegistry.updatePricingNative(5 gwei);
        assertEq(nodeRegistry.getNodePricingFor(host, address(0)), 5 gwei);
        assertEq(nodeRegistry.getNodePricing(host), HOST_MIN_PRICE, "stable minimum untouched");
    }

    function test_RevertWhen_updatePricingNative_outOfRange() public {
        uint256 min = nodeRegistry.MIN_PRICE_PER_TOKEN_NATIVE();
        uint256 max = nodeRegistry.MAX_PRICE_PER_TOKEN_NATIVE();
        vm.startPrank(host);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistryWithModels.NativePriceOutOfRange.selector, min - 1, min, max)
        );
        nodeRegistry.updatePricingNative(min - 1);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistryWithModels.NativePriceOutOfRange.selector, max + 1, min, max)
        );
        nodeRegistry.updatePricingNative(max + 1);
        vm.stopPrank();
    }

    function test_RevertWhen_updatePricingNative_notRegistered() public {
        vm.prank(host2);
        vm.expectRevert("Host not registered");
        nodeRegistry.updatePricingNative(1 gwei);
    }

    /*//////////////////////////////////////////////////////////////
                         terms: minimum deposit
    //////////////////////////////////////////////////////////////*/

    function test_updateMinDeposit_perAssetInTermsAndHostTerms() public {
        vm.expectEmit(address(nodeRegistry));
        emit INodeRegistryWithModels.MinDepositUpdated(host, address(0), 0.05 ether);
        vm.prank(host);
        nodeRegistry.updateMinDeposit(address(0), 0.05 ether);
        vm.expectEmit(address(nodeRegistry));
        emit INodeRegistryWithModels.MinDepositUpdated(host, address(usdc), 1e6);
        vm.prank(host);
        nodeRegistry.updateMinDeposit(address(usdc), 1e6);

        assertEq(nodeRegistry.getNodeTerms(host, address(0)).minDeposit, 0.05 ether);
        assertEq(nodeRegistry.getNodeTerms(host, address(usdc)).minDeposit, 1e6);
        assertEq(nodeRegistry.getNodeTerms(host, makeAddr("dai")).minDeposit, 0, "unset for another token");
        (,,,, uint256 ethMin) = nodeRegistry.getHostTerms(host, address(0), modelId);
        (,,,, uint256 usdcMin) = nodeRegistry.getHostTerms(host, address(usdc), modelId);
        assertEq(ethMin, 0.05 ether);
        assertEq(usdcMin, 1e6);
        assertEq(nodeRegistry.getNode(host).minDepositNative, 0.05 ether);
        assertEq(nodeRegistry.getNodePricingFor(host, address(0)), 1 gwei, "the native price beside it is untouched");
        assertEq(nodeRegistry.getNodePricingFor(host, address(usdc)), HOST_MIN_PRICE, "no per-asset price appears");
    }

    /// @dev The token's minimum price and minimum deposit share a slot: setting one keeps the other.
    function test_updateMinDeposit_keepsThePerAssetPrice() public {
        vm.startPrank(host);
        nodeRegistry.updatePricingForAsset(address(usdc), 1800);
        nodeRegistry.updateMinDeposit(address(usdc), 2e6);
        assertEq(nodeRegistry.getNodePricingFor(host, address(usdc)), 1800);
        nodeRegistry.updatePricingForAsset(address(usdc), 0);
        vm.stopPrank();
        assertEq(nodeRegistry.getNodeTerms(host, address(usdc)).minDeposit, 2e6);
        assertEq(nodeRegistry.getNodePricingFor(host, address(usdc)), HOST_MIN_PRICE);
    }

    /// @dev The native minimum deposit sits in slot 0 beside the native price: neither clobbers the other.
    function test_updateMinDeposit_nativeKeepsNativePriceAndInterval() public {
        uint256 maxNative = nodeRegistry.MAX_PRICE_PER_TOKEN_NATIVE();
        vm.startPrank(host);
        nodeRegistry.updatePricingNative(maxNative);
        nodeRegistry.updateMaxCheckpointInterval(1_000_000);
        nodeRegistry.updateMinDeposit(address(0), type(uint96).max);
        vm.stopPrank();
        INodeRegistryWithModels.NodeTerms memory terms = nodeRegistry.getNodeTerms(host, address(0));
        assertEq(terms.minPricePerTokenNative, maxNative);
        assertEq(terms.maxCheckpointInterval, 1_000_000);
        assertEq(terms.minDeposit, type(uint96).max);
        assertEq(terms.minPricePerToken, HOST_MIN_PRICE);
        assertTrue(terms.active);
    }

    function test_RevertWhen_updateMinDeposit_aboveLargestDeposit() public {
        vm.prank(host);
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistryWithModels.MinDepositTooLarge.selector,
                address(usdc),
                uint256(type(uint96).max) + 1,
                type(uint96).max
            )
        );
        nodeRegistry.updateMinDeposit(address(usdc), uint256(type(uint96).max) + 1);
    }

    function test_RevertWhen_updateMinDeposit_notRegistered() public {
        vm.prank(host2);
        vm.expectRevert("Host not registered");
        nodeRegistry.updateMinDeposit(address(0), 1);
    }

    /// @dev Like the prices: the ETH minimum goes with the registration, a token's stays with the host.
    function test_updateMinDeposit_afterUnregisterAndRegisterAgain() public {
        vm.startPrank(host);
        nodeRegistry.updateMinDeposit(address(0), 0.05 ether);
        nodeRegistry.updateMinDeposit(address(usdc), 1e6);
        nodeRegistry.unregisterNode();
        vm.stopPrank();
        assertEq(nodeRegistry.getNodeTerms(host, address(usdc)).minDeposit, 0, "no terms while unregistered");
        _registerHost(host, HOST_MIN_PRICE);
        assertEq(nodeRegistry.getNodeTerms(host, address(0)).minDeposit, 0);
        assertEq(nodeRegistry.getNodeTerms(host, address(usdc)).minDeposit, 1e6);
    }

    function test_getNodeTerms_defaultsAndUnregistered() public view {
        INodeRegistryWithModels.NodeTerms memory terms = nodeRegistry.getNodeTerms(host, address(usdc));
        assertTrue(terms.active);
        assertEq(terms.minPricePerToken, HOST_MIN_PRICE);
        assertEq(terms.minPricePerTokenNative, 1 gwei);
        assertEq(terms.maxCheckpointInterval, 1000);
        assertEq(terms.minDeposit, 0);
        INodeRegistryWithModels.NodeTerms memory none = nodeRegistry.getNodeTerms(host2, address(0));
        assertFalse(none.active);
        assertEq(none.maxCheckpointInterval, 0);
        assertEq(none.minPricePerTokenNative, 0);
    }

    /*//////////////////////////////////////////////////////////////
                          metadata, url, models
    //////////////////////////////////////////////////////////////*/

    function test_updateMetadata() public {
        vm.expectEmit(address(nodeRegistry));
        emit INodeRegistryWithModels.MetadataUpdated(host, "new");
        vm.prank(host);
        nodeRegistry.updateMetadata("new");
        assertEq(nodeRegistry.getNode(host).metadata, "new");
    }

    function test_RevertWhen_updateMetadata_notRegistered() public {
        vm.prank(host2);
        vm.expectRevert("Host not registered");
        nodeRegistry.updateMetadata("x");
    }

    function test_updateApiUrl() public {
        vm.expectEmit(address(nodeRegistry));
        emit INodeRegistryWithModels.ApiUrlUpdated(host, "https://new");
        vm.prank(host);
        nodeRegistry.updateApiUrl("https://new");
        assertEq(nodeRegistry.getNode(host).apiUrl, "https://new");
    }

    function test_RevertWhen_updateApiUrl_empty() public {
        vm.prank(host);
        vm.expectRevert(INodeRegistryWithModels.EmptyApiUrl.selector);
        nodeRegistry.updateApiUrl("");
    }

    function test_RevertWhen_updateApiUrl_notRegistered() public {
        vm.prank(host2);
        vm.expectRevert("Host not registered");
        nodeRegistry.updateApiUrl("u");
    }

    function test_updateSupportedModels_replacesListAndIndexes() public {
        vm.expectEmit(address(nodeRegistry));
        emit INodeRegistryWithModels.ModelsUpdated(host, _models(model2));
        vm.prank(host);
        nodeRegistry.updateSupportedModels(_models(model2));
        assertFalse(nodeRegistry.nodeSupportsModel(host, modelId));
        assertTrue(nodeRegistry.nodeSupportsModel(host, model2));
        assertEq(nodeRegistry.getNodesForModel(modelId).length, 0);
        assertEq(nodeRegistry.getNodesForModel(model2).length, 1);
        assertEq(nodeRegistry.getNode(host).modelIds.length, 1);
    }

    function test_RevertWhen_updateSupportedModels_notApproved() public {
        bytes32 unknown = keccak256("unknown");
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistryWithModels.ModelNotApproved.selector, unknown));
        nodeRegistry.updateSupportedModels(_models(unknown));
    }

    function test_RevertWhen_updateSupportedModels_notRegistered() public {
        vm.prank(host2);
        vm.expectRevert("Host not registered");
        nodeRegistry.updateSupportedModels(_models(modelId));
    }

    /*//////////////////////////////////////////////////////////////
                                 views
    //////////////////////////////////////////////////////////////*/

    function test_nodeSupportsModel_falseOnceModelRemovedFromRegistry() public {
        vm.prank(owner);
        modelRegistry.removeModel(modelId);
        assertFalse(nodeRegistry.nodeSupportsModel(host, modelId));
        (bool active,, bool serves,,) = nodeRegistry.getHostTerms(host, address(0), modelId);
        assertTrue(active);
        assertFalse(serves);
    }

    function test_getHostTerms_anyModelAndPerAssetMinimum() public view {
        (bool active, uint256 minEth, bool servesAny, uint256 maxInterval, uint256 minDeposit) =
            nodeRegistry.getHostTerms(host, address(0), bytes32(0));
        assertTrue(active);
        assertEq(minEth, 1 gwei);
        assertTrue(servesAny);
        assertEq(maxInterval, 1000, "a host that never set terms accepts the seed's interval");
        assertEq(minDeposit, 0, "a host that never set a minimum deposit takes the asset's");
        (, uint256 minUsdc,,,) = nodeRegistry.getHostTerms(host, address(usdc), modelId);
        assertEq(minUsdc, HOST_MIN_PRICE);
        (bool unknownActive,,,,) = nodeRegistry.getHostTerms(host2, address(0), bytes32(0));
        assertFalse(unknownActive);
    }

    function test_modelRegistry() public view {
        assertEq(nodeRegistry.modelRegistry(), address(modelRegistry));
    }
}
