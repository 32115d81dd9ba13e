// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IHostEarnings} from "../../../src/interfaces/IHostEarnings.sol";
import {IJobMarketplaceWithModels} from "../../../src/interfaces/IJobMarketplaceWithModels.sol";
import {IModelVerifier} from "../../../src/interfaces/IModelVerifier.sol";

/// @dev A depositor contract that refuses ETH (or burns all gas receiving it).
contract EthRejectingDepositor {
    IJobMarketplaceWithModels public immutable marketplace;
    bool public burnGas;

    constructor(IJobMarketplaceWithModels marketplace_) {
        marketplace = marketplace_;
    }

    function setBurnGas(bool burn) external {
        burnGas = burn;
    }

    function open(address host, uint256 price, address signer) external payable returns (uint256) {
        return marketplace.createSession{value: msg.value}(
            IJobMarketplaceWithModels.SessionParams({
                host: host,
                token: address(0),
                deposit: msg.value,
                pricePerToken: price,
                maxDuration: 1 hours,
                proofInterval: 1000,
                modelId: bytes32(0),
                signer: signer
            })
        );
    }

    function complete(uint256 jobId) external {
        marketplace.completeSessionJob(jobId);
    }

    function withdrawRefundTo(address to) external {
        marketplace.withdrawRefundTo(address(0), to);
    }

    function withdrawRefund() external {
        marketplace.withdrawRefund(address(0));
    }

    receive() external payable {
        if (!burnGas) revert("no ETH please");
        while (true) {}
    }
}

/// @dev A smart-wallet depositor whose receive hook costs more than 2,300 gas (a transfer() would fail).
contract CostlyReceiveDepositor {
    IJobMarketplaceWithModels public immutable marketplace;
    uint256 public received;

    constructor(IJobMarketplaceWithModels marketplace_) {
        marketplace = marketplace_;
    }

    function open(address host, uint256 price) external payable returns (uint256) {
        return marketplace.createSessionJob{value: msg.value}(host, price, 1 hours, 1000);
    }

    function complete(uint256 jobId) external {
        marketplace.completeSessionJob(jobId);
    }

    receive() external payable {
        received += msg.value; // a cold SSTORE: ~22k gas
    }
}

/// @dev An ERC-1271 wallet owned by one key.
contract ERC1271Wallet is IERC1271 {
    address public immutable walletOwner;

    constructor(address walletOwner_) {
        walletOwner = walletOwner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) public view virtual returns (bytes4) {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(hash, signature);
        return
            err == ECDSA.RecoverError.NoError && recovered == walletOwner ? this.isValidSignature.selector : bytes4(0);
    }
}

/// @dev A model verifier that accepts or refuses everything.
contract ToggleModelVerifier is IModelVerifier {
    bool public accept = true;

    function setAccept(bool accept_) external {
        accept = accept_;
    }

    function verifyCheckpoint(uint256, bytes32, address, uint256, bytes32) external view returns (bool) {
        return accept;
    }
}

/// @dev A host contract that tries to re-enter HostEarnings while receiving its ETH earnings.
contract ReentrantHost {
    IHostEarnings public immutable earnings;
    bool public reentrySucceeded;
    uint256 public receivedTotal;

    constructor(IHostEarnings earnings_) {
        earnings = earnings_;
    }

    function withdrawAll() external {
        earnings.withdrawAll(address(0));
    }

    receive() external payable {
        receivedTotal += msg.value;
        if (address(earnings).balance > 0) {
            (bool ok,) = address(earnings).call(abi.encodeCall(IHostEarnings.withdrawAll, (address(0))));
            if (ok) reentrySucceeded = true;
        }
    }

    /// @dev Lets the test register this contract as a host.
    function call(address target, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call(data);
        require(ok, "call failed");
        return ret;
    }
}

/// @dev A depositor contract whose ERC-777 style hook burns every unit of gas it gets (audit L-2).
contract GasBurningTokenDepositor {
    function open(IJobMarketplaceWithModels marketplace, address host, address token, uint256 deposit, uint256 price)
        external
        returns (uint256)
    {
        IERC20Approve(token).approve(address(marketplace), deposit);
        return marketplace.createSessionJobWithToken(host, token, deposit, price, 1 hours, 1000);
    }

    function tokensReceived(address, uint256) external pure {
        while (true) {}
    }
}

interface IERC20Approve {
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @dev An ERC-1271 wallet owned by one key that can be revoked between a host's simulation and
///      the batch's inclusion, or made to burn all the gas it is given (audit L-3).
contract HostileERC1271Wallet is ERC1271Wallet {
    enum Mode {
        Valid,
        Revoked,
        BurnGas
    }

    Mode public mode;

    constructor(address walletOwner_) ERC1271Wallet(walletOwner_) {}

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) public view override returns (bytes4) {
        if (mode == Mode.Revoked) return bytes4(0);
        if (mode == Mode.BurnGas) {
            while (true) {}
        }
        return super.isValidSignature(hash, signature);
    }
}
