// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IHostEarnings
/// @notice Holds hosts' shares of session payments until they withdraw them. The marketplace deploys
///         it and is, immutably, the only account that can credit; it sends the funds with the credit
///         (ETH as `msg.value`, ERC-20 transferred to this contract just before), so the balance of
///         each asset always covers what is owed. No owner, no admin function.
interface IHostEarnings {
    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice The caller is not the marketplace.
    error OnlyMarketplace(address caller);
    /// @notice ETH sent does not match the credited amount (or ETH sent with an ERC-20 credit).
    error ValueMismatch(uint256 sent, uint256 expected);
    /// @notice The withdrawal exceeds the caller's balance.
    error InsufficientEarnings(address token, uint256 requested, uint256 available);
    /// @notice Sending ETH to the host (or the `withdrawTo` recipient) failed.
    error EthTransferFailed(address to, uint256 amount);
    /// @notice `withdrawTo` was given the zero address as recipient.
    error ZeroAddress();

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A host was credited.
    event EarningsCredited(address indexed host, address indexed token, uint256 amount);
    /// @notice A host withdrew.
    event EarningsWithdrawn(address indexed host, address indexed token, uint256 amount);
    /// @notice A host's `withdrawTo` paid another address (follows EarningsWithdrawn).
    event EarningsWithdrawnTo(address indexed host, address indexed token, address to, uint256 amount);

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Credits a host (marketplace only). For ETH (`token == address(0)`) send exactly
    ///         `amount` as value; for an ERC-20 transfer `amount` to this contract first and send no value.
    /// @param host The host credited.
    /// @param token The asset (address(0) = ETH).
    /// @param amount The amount credited.
    function creditEarnings(address host, address token, uint256 amount) external payable;

    /// @notice Withdraws part of the caller's balance of one asset.
    /// @param token The asset (address(0) = ETH).
    /// @param amount The amount to withdraw.
    function withdraw(address token, uint256 amount) external;

    /// @notice Withdraws part of the caller's balance of one asset to another address — for a host
    ///         that is a contract without a payable `receive` (it cannot take ETH itself).
    /// @param token The asset (address(0) = ETH).
    /// @param amount The amount to withdraw (zero is a no-op).
    /// @param to The recipient (not the zero address); it receives ETH with all remaining gas.
    function withdrawTo(address token, uint256 amount, address to) external;

    /// @notice Withdraws the caller's whole balance of one asset (no-op when zero).
    /// @param token The asset (address(0) = ETH).
    function withdrawAll(address token) external;

    /// @notice Withdraws the caller's whole balance of several assets (zero balances are skipped).
    /// @param tokens The assets (address(0) = ETH).
    function withdrawMultiple(address[] calldata tokens) external;

    /// @notice A host's withdrawable balance of one asset.
    /// @param host The host.
    /// @param token The asset (address(0) = ETH).
    /// @return The balance.
    function getBalance(address host, address token) external view returns (uint256);

    /// @notice A host's withdrawable balances of several assets.
    /// @param host The host.
    /// @param tokens The assets (address(0) = ETH).
    /// @return balances The balances, in the order of `tokens`.
    function getBalances(address host, address[] calldata tokens) external view returns (uint256[] memory balances);

    /// @notice The marketplace that deployed this contract, the only account allowed to credit.
    /// @return The marketplace address.
    function marketplace() external view returns (address);
}
