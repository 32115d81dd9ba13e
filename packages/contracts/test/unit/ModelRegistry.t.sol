// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Test} from "forge-std/Test.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {IModelRegistry} from "../../src/interfaces/IModelRegistry.sol";

contract ModelRegistryTest is Test {
    ModelRegistry internal registry;
    address internal owner = makeAddr("owner");
    bytes32 internal constant HASH = keccak256("weights");

    function setUp() public {
        registry = new ModelRegistry(owner);
    }

    function _add(string memory repo, string memory file) internal returns (bytes32) {
        vm.prank(owner);
        return registry.addModel(repo, file, HASH);
    }

    function test_addModel_idIsKeccakOfRepoSlashFile() public {
        bytes32 id = _add("org/repo", "model.gguf");
        assertEq(id, keccak256(abi.encodePacked("org/repo", "/", "model.gguf")));
        assertEq(registry.getModelId("org/repo", "model.gguf"), id);
        assertTrue(registry.isModelApproved(id));
        IModelRegistry.Model memory model = registry.getModel(id);
        assertEq(model.repo, "org/repo");
        assertEq(model.fileName, "model.gguf");
        assertEq(model.sha256Hash, HASH);
        assertEq(model.addedAt, block.timestamp);
        assertTrue(model.approved);
        assertEq(registry.modelCount(), 1);
    }

    function test_addModel_emitsModelAdded() public {
        bytes32 id = keccak256(abi.encodePacked("a", "/", "b"));
        vm.expectEmit(address(registry));
        emit IModelRegistry.ModelAdded(id, "a", "b", HASH);
        _add("a", "b");
    }

    function test_RevertWhen_addModel_callerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        registry.addModel("a", "b", HASH);
    }

    function test_RevertWhen_addModel_emptyRepo() public {
        vm.prank(owner);
        vm.expectRevert(IModelRegistry.EmptyModelName.selector);
        registry.addModel("", "b", HASH);
    }

    function test_RevertWhen_addModel_emptyFileName() public {
        vm.prank(owner);
        vm.expectRevert(IModelRegistry.EmptyModelName.selector);
        registry.addModel("a", "", HASH);
    }

    function test_RevertWhen_addModel_zeroHash() public {
        vm.prank(owner);
        vm.expectRevert(IModelRegistry.ZeroModelHash.selector);
        registry.addModel("a", "b", bytes32(0));
    }

    function test_RevertWhen_addModel_alreadyApproved() public {
        bytes32 id = _add("a", "b");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelAlreadyApproved.selector, id));
        registry.addModel("a", "b", HASH);
    }

    function test_removeModel_withdrawsApprovalAndKeepsListDense() public {
        bytes32 a = _add("a", "1");
        bytes32 b = _add("b", "2");
        bytes32 c = _add("c", "3");
        vm.expectEmit(address(registry));
        emit IModelRegistry.ModelRemoved(a);
        vm.prank(owner);
        registry.removeModel(a);

        assertFalse(registry.isModelApproved(a));
        assertFalse(registry.getModel(a).approved);
        bytes32[] memory all = registry.getAllModels();
        assertEq(all.length, 2);
        assertEq(all[0], c);
        assertEq(all[1], b);
        assertEq(registry.modelCount(), 2);
    }

    function test_removeModel_thenReAddWithNewHash() public {
        bytes32 id = _add("a", "b");
        vm.startPrank(owner);
        registry.removeModel(id);
        registry.addModel("a", "b", keccak256("v2"));
        vm.stopPrank();
        assertTrue(registry.isModelApproved(id));
        assertEq(registry.getModel(id).sha256Hash, keccak256("v2"));
        assertEq(registry.getAllModels().length, 1);
    }

    function test_RevertWhen_removeModel_callerNotOwner() public {
        bytes32 id = _add("a", "b");
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        registry.removeModel(id);
    }

    function test_RevertWhen_removeModel_notApproved() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelNotApproved.selector, bytes32(uint256(1))));
        registry.removeModel(bytes32(uint256(1)));
    }

    function test_RevertWhen_getModel_neverAdded() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelNotApproved.selector, bytes32(uint256(7))));
        registry.getModel(bytes32(uint256(7)));
    }

    function test_ownershipTransferIsTwoStep() public {
        address next = makeAddr("next");
        vm.prank(owner);
        registry.transferOwnership(next);
        assertEq(registry.owner(), owner);
        vm.prank(next);
        registry.acceptOwnership();
        assertEq(registry.owner(), next);
    }
}
