// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title ICashbackToken
/// @notice CASH, the programme's ERC-20. Brands buy it to fund reward budgets; customers receive
/// it by claiming rewards and spend it like any ERC-20. Amounts are integers in the smallest
/// unit (18 decimals).
interface ICashbackToken is IERC20 {
    /// @notice Creates `amount` new units for `to`.
    /// @dev Only accounts holding MINTER_ROLE may mint.
    function mint(address to, uint256 amount) external;

    /// @notice The role allowed to mint.
    function MINTER_ROLE() external view returns (bytes32);
}
