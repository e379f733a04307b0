// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IBudgetVault} from "./interfaces/IBudgetVault.sol";

/// @title BudgetVault
/// @notice Brands' budgets and the pending epoch's total, released only by the RewardDistributor.
contract BudgetVault is IBudgetVault {
    using SafeERC20 for IERC20;

    IERC20 private immutable _TOKEN;
    address private immutable _DISTRIBUTOR;

    constructor(IERC20 token_, address distributor_) {
        _TOKEN = token_;
        _DISTRIBUTOR = distributor_;
    }

    /// @inheritdoc IBudgetVault
    function release(address token_, address to, uint256 amount) external {
        if (msg.sender != _DISTRIBUTOR) revert NotDistributor(msg.sender);
        IERC20(token_).safeTransfer(to, amount);
    }

    /// @inheritdoc IBudgetVault
    function distributor() external view returns (address) {
        return _DISTRIBUTOR;
    }

    /// @inheritdoc IBudgetVault
    function token() external view returns (address) {
        return address(_TOKEN);
    }
}
