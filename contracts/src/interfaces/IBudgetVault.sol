// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IBudgetVault
/// @notice Holds brands' budgets (reserved and unreserved) and the total of a published epoch
/// still inside its challenge window, apart from the RewardDistributor: the distributor's own
/// balance is exactly what FINALISED epochs allocated and nobody claimed yet, so a claim can never
/// reach a budget or a pending (vetoable) epoch's money, without a per-claim check.
interface IBudgetVault {
    /// @notice Only the distributor may move the vault's tokens.
    error NotDistributor(address caller);

    /// @notice Sends `amount` of `token` to `to`. Distributor only (it sweeps other tokens with it).
    function release(address token, address to, uint256 amount) external;

    /// @notice The RewardDistributor that owns this vault.
    function distributor() external view returns (address);

    /// @notice The CASH token.
    function token() external view returns (address);
}
