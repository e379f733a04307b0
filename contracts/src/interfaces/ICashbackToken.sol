// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title ICashbackToken
/// @notice CASH, the programme's ERC-20 (18 decimals, EIP-2612 permit). It is created by the
/// RewardDistributor's constructor and minted only by that distributor, straight into its
/// BudgetVault, when a funder credits a brand's budget: the total supply is always exactly what
/// was funded. Customers receive CASH by claiming rewards and spend it like any ERC-20.
/// @dev To make "CASH sent to the distributor or vault by mistake" impossible rather than
/// recoverable, the token refuses any transfer to the distributor or its vault that neither of them
/// makes (a deposit is the distributor moving a brand's CASH in, so it passes).
interface ICashbackToken is IERC20 {
    /// @notice Only the distributor mints.
    error NotDistributor(address caller);
    /// @notice CASH reaches the distributor or its vault only through the distributor's own calls
    /// (`fund`, `deposit`, finalising an epoch); a plain transfer there would be stuck.
    error TransferToProtocol(address to);

    /// @notice Creates `amount` new units for `to`. Distributor only (its `fund` mints into the vault).
    function mint(address to, uint256 amount) external;

    /// @notice The RewardDistributor that created this token and alone mints it.
    function distributor() external view returns (address);

    /// @notice The BudgetVault holding brands' unspent budgets (created with this token).
    function vault() external view returns (address);
}
