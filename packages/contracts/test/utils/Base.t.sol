// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {HostEarnings} from "../../src/HostEarnings.sol";
import {JobMarketplaceWithModels} from "../../src/JobMarketplaceWithModels.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {NodeRegistryWithModels} from "../../src/NodeRegistryWithModels.sol";
import {ProofSystem} from "../../src/ProofSystem.sol";
import {IJobMarketplaceWithModels} from "../../src/interfaces/IJobMarketplaceWithModels.sol";
import {TestUSDC} from "../../src/testing/TestUSDC.sol";

/// @dev What the hostile token mocks and TestUSDC have in common.
interface IMintableToken {
    function mint(address to, uint256 amount) external;
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @dev Deploys and wires the five contracts plus TestUSDC, registers one host serving one model,
///      and offers helpers that sign receipts the way the SDK does (EIP-712, computed independently
///      of the contract's own hashCheckpoint).
abstract contract Base is Test {
    bytes32 internal constant CHECKPOINT_TYPEHASH =
        keccak256("Checkpoint(uint256 jobId,uint256 cumulativeTokens,bytes32 transcriptHash)");

    uint256 internal constant HOST_MIN_PRICE = 1500; // the seed's host minimum (stable units)
    uint256 internal constant USDC_PRICE = 2000; // the seed's client price
    uint256 internal constant ETH_PRICE = 2 gwei; // wei per token
    uint256 internal constant DURATION = 1 hours;
    uint256 internal constant INTERVAL = 1000;
    uint256 internal constant ETH_DEPOSIT = 0.01 ether; // 5,000,000 tokens at ETH_PRICE
    uint256 internal constant USDC_DEPOSIT = 10e6; // 10 USDC = 5,000 tokens at USDC_PRICE

    address internal owner = makeAddr("owner");
    address internal treasury = makeAddr("treasury");
    address internal stranger = makeAddr("stranger");
    address internal host;
    uint256 internal hostKey;
    address internal depositor;
    uint256 internal depositorKey;
    address internal sessionKey;
    uint256 internal sessionKeyPk;

    ModelRegistry internal modelRegistry;
    NodeRegistryWithModels internal nodeRegistry;
    ProofSystem internal proofSystem;
    HostEarnings internal hostEarnings;
    JobMarketplaceWithModels internal marketplace;
    TestUSDC internal usdc;
    bytes32 internal modelId;

    function setUp() public virtual {
        (host, hostKey) = makeAddrAndKey("host");
        (depositor, depositorKey) = makeAddrAndKey("depositor");
        (sessionKey, sessionKeyPk) = makeAddrAndKey("sessionKey");

        vm.startPrank(owner);
        modelRegistry = new ModelRegistry(owner);
        nodeRegistry = new NodeRegistryWithModels(modelRegistry);
        proofSystem = new ProofSystem(owner);
        marketplace = new JobMarketplaceWithModels(nodeRegistry, proofSystem, treasury, owner);
        hostEarnings = HostEarnings(marketplace.hostEarnings());
        usdc = new TestUSDC();
        marketplace.configureAsset(address(usdc), 800_000, 100, 100_000);
        modelId = modelRegistry.addModel("session-jobs/kjv-bpe-llama", "kjv-bpe-llama.gguf", sha256("weights"));
        vm.stopPrank();

        _registerHost(host, HOST_MIN_PRICE);

        vm.deal(depositor, 100 ether);
        usdc.mint(depositor, 1_000_000e6);
        vm.prank(depositor);
        usdc.approve(address(marketplace), type(uint256).max);
    }

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    function _registerHost(address who, uint256 minPrice) internal {
        bytes32[] memory models = new bytes32[](1);
        models[0] = modelId;
        vm.prank(who);
        nodeRegistry.registerNode('{"gpu":"none"}', "http://127.0.0.1:8080", models, minPrice);
    }

    function _openEth() internal returns (uint256 jobId) {
        return _openEth(ETH_DEPOSIT, ETH_PRICE);
    }

    function _openEth(uint256 deposit, uint256 price) internal returns (uint256 jobId) {
        vm.prank(depositor);
        jobId = marketplace.createSessionJob{value: deposit}(host, price, DURATION, INTERVAL);
    }

    function _openUsdc() internal returns (uint256 jobId) {
        return _openUsdc(USDC_DEPOSIT, USDC_PRICE);
    }

    function _openUsdc(uint256 deposit, uint256 price) internal returns (uint256 jobId) {
        vm.prank(depositor);
        jobId = marketplace.createSessionJobWithToken(host, address(usdc), deposit, price, DURATION, INTERVAL);
    }

    /// @dev Accepts `token` with the USDC terms and gives the depositor `amount` of it, approved.
    function _acceptAndFund(address token, uint256 amount) internal {
        vm.prank(owner);
        marketplace.configureAsset(token, 800_000, 100, 100_000);
        IMintableToken(token).mint(depositor, amount);
        vm.prank(depositor);
        IMintableToken(token).approve(address(marketplace), amount);
    }

    /// @dev Opens a session in an ERC-20 other than TestUSDC, on the USDC terms.
    function _openWithToken(address token) internal returns (uint256 jobId) {
        vm.prank(depositor);
        jobId = marketplace.createSessionJobWithToken(host, token, USDC_DEPOSIT, USDC_PRICE, DURATION, INTERVAL);
    }

    /// @dev Settles one proven session per asset, so the treasury and host balances exist.
    function _settleOneSessionPerAsset() internal {
        uint256 ethJob = _openEth();
        _submit(ethJob, depositorKey, 1000);
        vm.prank(depositor);
        marketplace.completeSessionJob(ethJob);
        uint256 usdcJob = _openUsdc();
        _submit(usdcJob, depositorKey, 1000);
        vm.prank(depositor);
        marketplace.completeSessionJob(usdcJob);
    }

    function _params(address token, uint256 deposit, uint256 price)
        internal
        view
        returns (IJobMarketplaceWithModels.SessionParams memory)
    {
        return IJobMarketplaceWithModels.SessionParams({
            host: host,
            token: token,
            deposit: deposit,
            pricePerToken: price,
            maxDuration: DURATION,
            proofInterval: INTERVAL,
            modelId: modelId,
            signer: sessionKey
        });
    }

    /// @dev The EIP-712 domain separator as the spec defines it (docs/design.md), for `verifyingContract`.
    function _domainSeparator(address verifyingContract) internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("SessionJobs"),
                keccak256("1"),
                block.chainid,
                verifyingContract
            )
        );
    }

    function _digest(address verifyingContract, uint256 jobId, uint256 cumulative, bytes32 transcript)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(CHECKPOINT_TYPEHASH, jobId, cumulative, transcript));
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(verifyingContract), structHash));
    }

    /// @dev `abi.encodePacked(transcriptHash, r, s, v)` signed by `key` for this marketplace.
    function _proof(uint256 key, uint256 jobId, uint256 cumulative, bytes32 transcript)
        internal
        view
        returns (bytes memory)
    {
        return _proofFor(address(marketplace), key, jobId, cumulative, transcript);
    }

    function _proofFor(address verifyingContract, uint256 key, uint256 jobId, uint256 cumulative, bytes32 transcript)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _digest(verifyingContract, jobId, cumulative, transcript));
        return abi.encodePacked(transcript, r, s, v);
    }

    function _transcript(uint256 jobId, uint256 cumulative) internal pure returns (bytes32) {
        return keccak256(abi.encode("transcript", jobId, cumulative));
    }

    /// @dev Proves `tokens` more with a receipt by `key`, as the host.
    function _submit(uint256 jobId, uint256 key, uint256 tokens) internal returns (bool) {
        uint256 cumulative = marketplace.getSession(jobId).provenTokens + tokens;
        bytes memory proof = _proof(key, jobId, cumulative, _transcript(jobId, cumulative));
        vm.prank(host);
        return marketplace.submitProofOfWork(jobId, proof, tokens);
    }

    function _status(uint256 jobId) internal view returns (IJobMarketplaceWithModels.SessionStatus) {
        return marketplace.getSession(jobId).status;
    }
}
