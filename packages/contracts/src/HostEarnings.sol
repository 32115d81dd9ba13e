// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IHostEarnings} from "./interfaces/IHostEarnings.sol";

/// @title HostEarnings
/// @notice Hosts' accumulated shares of session payments, per asset; see IHostEarnings.
/// @dev Deployed by JobMarketplaceWithModels' constructor: `marketplace` is immutable, which also
///      saves a storage read on every settlement.
contract HostEarnings is IHostEarnings, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IHostEarnings
    address public immutable marketplace;

    /// @dev Balance + 1 once a host was first credited in an asset: a withdrawal leaves 1, so the next
    ///      credit is a non-zero to non-zero write (2,900 gas) instead of a zero to non-zero one (20,000).
    mapping(address host => mapping(address token => uint256 amountPlusOne)) private _balances;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    constructor() {
        marketplace = msg.sender;
    }

    /*//////////////////////////////////////////////////////////////
                               FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IHostEarnings
    function creditEarnings(address host, address token, uint256 amount) external payable {
        if (msg.sender != marketplace) revert OnlyMarketplace(msg.sender);
        uint256 expectedValue = token == address(0) ? amount : 0;
        if (msg.value != expectedValue) revert ValueMismatch(msg.value, expectedValue);
        uint256 stored = _balances[host][token];
        _balances[host][token] = (stored == 0 ? 1 : stored) + amount;
        emit EarningsCredited(host, token, amount);
    }

    /// @inheritdoc IHostEarnings
    function withdraw(address token, uint256 amount) external nonReentrant {
        uint256 available = _balanceOf(msg.sender, token);
        if (amount > available) revert InsufficientEarnings(token, amount, available);
        _withdraw(token, amount);
    }

    /// @inheritdoc IHostEarnings
    function withdrawTo(address token, uint256 amount, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        uint256 available = _balanceOf(msg.sender, token);
        if (amount > available) revert InsufficientEarnings(token, amount, available);
        _withdraw(token, amount, to);
    }

    /// @inheritdoc IHostEarnings
    function withdrawAll(address token) external nonReentrant {
        _withdraw(token, _balanceOf(msg.sender, token));
    }

    /// @inheritdoc IHostEarnings
    function withdrawMultiple(address[] calldata tokens) external nonReentrant {
        for (uint256 i; i < tokens.length; ++i) {
            _withdraw(tokens[i], _balanceOf(msg.sender, tokens[i]));
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IHostEarnings
    function getBalance(address host, address token) external view returns (uint256) {
        return _balanceOf(host, token);
    }

    /// @inheritdoc IHostEarnings
    function getBalances(address host, address[] calldata tokens) external view returns (uint256[] memory balances) {
        balances = new uint256[](tokens.length);
        for (uint256 i; i < tokens.length; ++i) {
            balances[i] = _balanceOf(host, tokens[i]);
        }
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _balanceOf(address host, address token) private view returns (uint256) {
        uint256 stored = _balances[host][token];
        return stored == 0 ? 0 : stored - 1;
    }

    /// @dev Pays `amount` of `token` to the caller; zero is a no-op so batch withdrawals skip empties.
    function _withdraw(address token, uint256 amount) private {
        if (amount == 0) return;
        _balances[msg.sender][token] -= amount;
        emit EarningsWithdrawn(msg.sender, token, amount);
        _pay(token, msg.sender, amount);
    }

    /// @dev Pays `amount` of the caller's `token` balance to `to` (`withdrawTo`).
    function _withdraw(address token, uint256 amount, address to) private {
        if (amount == 0) return;
        _balances[msg.sender][token] -= amount;
        emit EarningsWithdrawn(msg.sender, token, amount);
        if (to != msg.sender) emit EarningsWithdrawnTo(msg.sender, token, to, amount);
        _pay(token, to, amount);
    }

    /// @dev Sends ETH (all gas, reverting on failure) or an ERC-20 (SafeERC20).
    function _pay(address token, address to, uint256 amount) private {
        if (token == address(0)) {
            (bool sent,) = payable(to).call{value: amount}("");
            if (!sent) revert EthTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }
}
