// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IBudgetVault} from "./interfaces/IBudgetVault.sol";

/// @title BudgetVault
/// @notice Brands' unspent budgets, released only by the RewardDistributor that created it.
contract BudgetVault is IBudgetVault {
    using SafeERC20 for IERC20;

    IERC20 private immutable _TOKEN;
    address private immutable _DISTRIBUTOR;

    constructor(IERC20 token_) {
        _TOKEN = token_;
        _DISTRIBUTOR = msg.sender;
    }

    /// @inheritdoc IBudgetVault
    function release(address to, uint256 amount) external {
        if (msg.sender != _DISTRIBUTOR) revert NotDistributor(msg.sender);
        _TOKEN.safeTransfer(to, amount);
    }

    /// @inheritdoc IBudgetVault
    function distributor() external view returns (address) {
        return _DISTRIBUTOR;
    }
}
