// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IBudgetVault
/// @notice Holds brands' unspent reward budgets apart from the RewardDistributor, so that the
/// distributor's own balance is exactly what published epochs allocated and nobody claimed yet:
/// a claim can then never reach into a brand's unspent budget, without a per-claim check.
interface IBudgetVault {
    /// @notice Only the distributor that created the vault may move its tokens.
    error NotDistributor(address caller);

    /// @notice Sends `amount` of the budget token to `to`. Distributor only.
    function release(address to, uint256 amount) external;

    /// @notice The RewardDistributor that owns this vault.
    function distributor() external view returns (address);
}
